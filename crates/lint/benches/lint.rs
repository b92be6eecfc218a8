//! In-process throughput of the coach on a 20 KB incident review (target: < 1 ms per call).
//! The document mixes neutral prose, blame phrases, code blocks, a table and action items, the
//! same shapes as shared/bench/gen_corpus.py produces.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use secondstory_lint::{Linter, lint};

fn review_of_about(bytes: usize) -> String {
    let section = "## Timeline\n\n\
        - **14:02** The on-call engineer noticed elevated 5xx error rates on checkout-api.\n\
        - **14:05** The deploy tooling reported success even though two pods never became ready.\n\
        - **14:09** The engineer failed to notice the alert for search-indexer.\n\n\
        ## Contributing factors\n\n\
        The alert threshold was tuned for steady traffic, so the gradual change stayed below it. \
        Traffic shifted to the secondary region, which masked the errors for several minutes. \
        The rollout should have been paused at the canary. The root cause was a misconfigured \
        connection pool. Just after 14:00 the retry storm amplified load, and the health check \
        failed three times before the pod was restarted. We do not yet know why the cache kept \
        stale entries; investigation continues.\n\n\
        ```text\n2024-03-01T14:02:11Z checkout-api ERROR pool: timeout, obviously fine\n```\n\n\
        | Metric | Value |\n| --- | --- |\n| Requests failed | 4212 |\n\n\
        ## Action items\n\n\
        1. Add a canary stage that gates on latency as well as errors (owner: Platform, P1)\n\
        2. Engineers need to be more careful when touching the `rate_limiter` config\n\n";
    let mut doc =
        String::from("---\ntitle: checkout-api incident\nparticipants: [Priya, Sam]\n---\n\n");
    while doc.len() < bytes {
        doc.push_str(section);
    }
    doc
}

fn bench_lint(c: &mut Criterion) {
    let doc = review_of_about(20_000);
    let linter = Linter::default();
    let _ = lint(&doc); // compile the rules outside the measurement
    let mut group = c.benchmark_group("lint");
    group.throughput(Throughput::Bytes(doc.len() as u64));
    group.bench_function("20kb_review", |b| b.iter(|| linter.lint(black_box(&doc))));
    group.finish();
}

criterion_group!(benches, bench_lint);
criterion_main!(benches);
