//! The fast reader's two byte loops: skipping whitespace and skipping to the next byte a string
//! body must stop at (`"`, `\` or a control character).
//!
//! On x86-64 the input is classified 64 bytes at a time with SSE2 (part of every x86-64, used
//! through the safe `safe_arch` API): one bit per byte, kept for the block the reader is in, so
//! that each skip is a shift and a count of trailing zeros. Blocks are aligned to the start of the
//! input; bytes past its end count as stops, so every skip ends at or before the end. Elsewhere
//! the portable reader scans eight bytes at a time in a `u64` (SWAR).

#[cfg(target_arch = "x86_64")]
pub(super) use sse2::Skipper;
#[cfg(not(target_arch = "x86_64"))]
pub(super) use swar::Skipper;

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use safe_arch::{
        cmp_eq_mask_i8_m128i, load_unaligned_m128i, m128i, min_u8_m128i, move_mask_i8_m128i,
        set_splat_i8_m128i,
    };

    const BLOCK: usize = 64;

    /// The classified block the reader is in.
    #[derive(Debug)]
    pub(in super::super) struct Skipper {
        /// Start of the block the bits describe (`usize::MAX`: none yet).
        base: usize,
        /// One bit per byte that is not whitespace.
        ws_bits: u64,
        /// One bit per `"`, `\` or control character.
        stop_bits: u64,
    }

    impl Skipper {
        pub(in super::super) fn new() -> Self {
            Self {
                base: usize::MAX,
                ws_bits: 0,
                stop_bits: 0,
            }
        }

        #[inline]
        fn load(&mut self, b: &[u8], base: usize) {
            if base != self.base {
                self.base = base;
                (self.ws_bits, self.stop_bits) = classify(b, base);
            }
        }

        /// The first position from `pos` that is not whitespace (or the end of `b`).
        #[inline]
        pub(in super::super) fn ws(&mut self, b: &[u8], pos: usize) -> usize {
            self.next_set(b, pos, |skipper| skipper.ws_bits)
        }

        /// The first position from `pos` holding `"`, `\` or a control character (or the end).
        #[inline]
        pub(in super::super) fn string_stop(&mut self, b: &[u8], pos: usize) -> usize {
            self.next_set(b, pos, |skipper| skipper.stop_bits)
        }

        /// The first position from `pos` whose bit is set in the mask `bits_of` picks.
        #[inline]
        fn next_set(&mut self, b: &[u8], mut pos: usize, bits_of: impl Fn(&Self) -> u64) -> usize {
            loop {
                let base = pos & !(BLOCK - 1);
                self.load(b, base);
                let bits = bits_of(self) >> (pos - base);
                if bits != 0 {
                    return pos + bits.trailing_zeros() as usize;
                }
                pos = base + BLOCK;
            }
        }
    }

    /// For `b[base..base + 64]`: one bit per byte that is not whitespace, and one per string
    /// stop. Bytes past the end of `b` read as 0 (a control character: a stop for both kinds).
    #[inline]
    fn classify(b: &[u8], base: usize) -> (u64, u64) {
        match b.get(base..base + BLOCK) {
            Some(block) => bits(block),
            None => {
                let mut padded = [0u8; BLOCK];
                if let Some(rest) = b.get(base..) {
                    padded[..rest.len()].copy_from_slice(rest);
                }
                bits(&padded)
            }
        }
    }

    #[inline(always)]
    fn bits(block: &[u8]) -> (u64, u64) {
        let (lanes, _) = block.as_chunks::<16>();
        let (mut ws, mut stops) = (0u64, 0u64);
        for (k, bytes) in lanes.iter().take(BLOCK / 16).enumerate() {
            let x = load_unaligned_m128i(bytes);
            let lane_ws = move_mask_i8_m128i(whitespace(x)) as u32 & 0xFFFF;
            let lane_stops = move_mask_i8_m128i(string_stops(x)) as u32 & 0xFFFF;
            ws |= u64::from(lane_ws) << (16 * k);
            stops |= u64::from(lane_stops) << (16 * k);
        }
        (!ws, stops)
    }

    #[inline(always)]
    fn splat(byte: u8) -> m128i {
        set_splat_i8_m128i(i8::from_ne_bytes([byte]))
    }

    /// `"`, `\` or below 0x20.
    #[inline(always)]
    fn string_stops(x: m128i) -> m128i {
        let control = cmp_eq_mask_i8_m128i(min_u8_m128i(x, splat(0x1F)), x);
        cmp_eq_mask_i8_m128i(x, splat(b'"')) | cmp_eq_mask_i8_m128i(x, splat(b'\\')) | control
    }

    /// Space, tab, line feed and carriage return.
    #[inline(always)]
    fn whitespace(x: m128i) -> m128i {
        cmp_eq_mask_i8_m128i(x, splat(b' '))
            | cmp_eq_mask_i8_m128i(x, splat(b'\n'))
            | cmp_eq_mask_i8_m128i(x, splat(b'\r'))
            | cmp_eq_mask_i8_m128i(x, splat(b'\t'))
    }
}

#[cfg_attr(all(target_arch = "x86_64", not(test)), allow(dead_code))]
mod swar {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;

    #[derive(Debug)]
    pub(in super::super) struct Skipper;

    impl Skipper {
        pub(in super::super) fn new() -> Self {
            Self
        }

        /// Skips whitespace; runs of spaces (Slack indents with four per level) eight at a time.
        #[inline]
        pub(in super::super) fn ws(&mut self, b: &[u8], mut i: usize) -> usize {
            loop {
                if let Some(chunk) = b.get(i..i + 8) {
                    let mut word = [0u8; 8];
                    word.copy_from_slice(chunk);
                    let not_spaces = u64::from_le_bytes(word) ^ (ONES * u64::from(b' '));
                    if not_spaces == 0 {
                        i += 8;
                        continue;
                    }
                    i += (not_spaces.trailing_zeros() / 8) as usize;
                }
                match b.get(i) {
                    Some(b' ' | b'\n' | b'\r' | b'\t') => i += 1,
                    _ => break,
                }
            }
            i
        }

        /// Moves to the next `"`, `\` or control character of a string (or the end of input).
        #[inline]
        pub(in super::super) fn string_stop(&mut self, b: &[u8], mut i: usize) -> usize {
            while let Some(chunk) = b.get(i..i + 8) {
                let mut word = [0u8; 8];
                word.copy_from_slice(chunk);
                let w = u64::from_le_bytes(word);
                let quote = w ^ (ONES * u64::from(b'"'));
                let backslash = w ^ (ONES * u64::from(b'\\'));
                // The lowest flagged byte of each term is exact (borrows only flag bytes above it).
                let found = (quote.wrapping_sub(ONES) & !quote)
                    | (backslash.wrapping_sub(ONES) & !backslash)
                    | (w.wrapping_sub(ONES * 0x20) & !w);
                let found = found & HIGHS;
                if found != 0 {
                    return i + (found.trailing_zeros() / 8) as usize;
                }
                i += 8;
            }
            while let Some(&c) = b.get(i) {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                i += 1;
            }
            i
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    fn naive_ws(b: &[u8], pos: usize) -> usize {
        (pos..b.len())
            .find(|&i| !matches!(b[i], b' ' | b'\n' | b'\r' | b'\t'))
            .unwrap_or(b.len())
    }

    fn naive_stop(b: &[u8], pos: usize) -> usize {
        (pos..b.len())
            .find(|&i| b[i] == b'"' || b[i] == b'\\' || b[i] < 0x20)
            .unwrap_or(b.len())
    }

    /// Every start position, skipping forward from each (as the reader does) and from scratch.
    fn check(b: &[u8]) {
        let mut sse = super::Skipper::new();
        let mut swar = super::swar::Skipper::new();
        for pos in 0..=b.len() {
            let ws = naive_ws(b, pos);
            let stop = naive_stop(b, pos);
            assert_eq!(sse.ws(b, pos), ws, "ws from {pos} in {b:?}");
            assert_eq!(sse.string_stop(b, pos), stop, "stop from {pos} in {b:?}");
            assert_eq!(swar.ws(b, pos), ws, "swar ws from {pos} in {b:?}");
            assert_eq!(
                swar.string_stop(b, pos),
                stop,
                "swar stop from {pos} in {b:?}"
            );
            assert_eq!(super::Skipper::new().ws(b, pos), ws);
            assert_eq!(super::Skipper::new().string_stop(b, pos), stop);
        }
    }

    #[test]
    fn skips_agree_with_a_byte_loop_at_block_edges() {
        for len in [0, 1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 200] {
            check(&vec![b' '; len]);
            check(&vec![b'a'; len]);
            check(&vec![0xE9; len]);
            for at in [0, 15, 16, 62, 63, 64, 65, 127, 128] {
                for byte in [
                    b'"', b'\\', 0x00, 0x1F, 0x20, 0x7F, 0x80, 0xFF, b'\t', b'\n', b'\r',
                ] {
                    if at < len {
                        let mut spaces = vec![b' '; len];
                        spaces[at] = byte;
                        check(&spaces);
                        let mut letters = vec![b'x'; len];
                        letters[at] = byte;
                        check(&letters);
                    }
                }
            }
        }
    }

    proptest! {
        #[test]
        fn skips_agree_with_a_byte_loop(
            b in proptest::collection::vec(
                prop_oneof![
                    Just(b' '), Just(b'\n'), Just(b'\t'), Just(b'\r'), Just(b'"'), Just(b'\\'),
                    Just(b'a'), Just(0x1F), Just(0x20), Just(0x80), Just(0xFF), any::<u8>()
                ],
                0..300,
            )
        ) {
            check(&b);
        }
    }
}
