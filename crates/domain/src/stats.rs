//! Honest duration statistics: distributions and percentiles, never a bare mean.
//!
//! Incident durations are heavily skewed (most are short, a few are very long), so a mean of them
//! misleads. Learning-across-incidents views show the median, the 90th percentile and a histogram.

use serde::Serialize;

/// The summary of a set of durations, in minutes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DurationSummary {
    pub count: usize,
    pub median: Option<f64>,
    pub p90: Option<f64>,
    pub p99: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// Percentile by linear interpolation between closest ranks (the "R-7" definition used by
/// spreadsheets and numpy's default), `p` in 0..=100.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() || !(0.0..=100.0).contains(&p) {
        return None;
    }
    let rank = p / 100.0 * (sorted.len() - 1) as f64;
    let lower = rank.floor() as usize;
    let upper = rank.ceil() as usize;
    let weight = rank - lower as f64;
    Some(sorted[lower] + (sorted[upper] - sorted[lower]) * weight)
}

pub fn summarise(values: &[f64]) -> DurationSummary {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    DurationSummary {
        count: sorted.len(),
        median: percentile(&sorted, 50.0),
        p90: percentile(&sorted, 90.0),
        p99: percentile(&sorted, 99.0),
        min: sorted.first().copied(),
        max: sorted.last().copied(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_and_the_median_resists_a_long_tail() {
        let minutes = [5.0, 7.0, 9.0, 12.0, 600.0];
        let s = summarise(&minutes);
        assert_eq!(s.median, Some(9.0));
        assert_eq!(s.max, Some(600.0));
        assert_eq!(percentile(&[1.0, 2.0], 50.0), Some(1.5));
        assert_eq!(summarise(&[]).median, None);
    }
}
