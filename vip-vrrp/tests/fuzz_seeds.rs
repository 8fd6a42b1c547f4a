//! The `parse` fuzz target's seed corpus (`scripts/fuzz`): every VRRP frame of the keepalived
//! captures, behind the context prefix of `support::fuzz_body` that matches its capture
//! (family, version; checksum fixed up, since the fuzz body's addresses differ from the
//! capture's) and once more as captured. Every v3 seed must parse, so that the fuzzer starts
//! from packets that reach the end of the codec. The seeds are written to
//! `CARGO_TARGET_TMPDIR/fuzz-seeds/parse`, where `scripts/fuzz` takes them from.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

/// Each capture with its prefix's flag byte (see `support::fuzz_body::run`): 1 = IPv6,
/// 2 = VRRPv2, 32 = fix the checksum up, 64 = message-only checksum (v2's form).
const CAPTURES: [(&str, u8); 5] = [
    ("keepalived-v2-n1.pcap", 2 | 32 | 64),
    ("keepalived-v2multi-n1.pcap", 2 | 32 | 64),
    ("keepalived-v3-n1.pcap", 32),
    ("keepalived-v3unicast-n1.pcap", 32),
    ("keepalived-v3v6-n1.pcap", 1 | 32),
];

#[test]
fn keepalived_captures_seed_the_fuzz_target() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-seeds/parse");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut written = 0;
    for (file, flags) in CAPTURES {
        let stem = file.trim_end_matches(".pcap");
        let frames = support::vrrp_frames(file);
        assert!(!frames.is_empty(), "{file}: no VRRP frame");
        for (i, frame) in frames.iter().enumerate() {
            for (tag, flags) in [("fixed", flags), ("captured", flags & !32)] {
                let mut input = vec![flags, frame.ttl, 0, 0];
                input.extend_from_slice(&frame.vrrp);
                let parsed = support::fuzz_body::run(&input);
                // v2 captures carry keepalived's password, which no prefix reproduces
                // (`wire_props`): they seed the authentication checks instead.
                if tag == "fixed" && flags & 2 == 0 {
                    assert!(parsed, "{file} frame {i} must parse behind its prefix");
                }
                std::fs::write(dir.join(format!("{stem}-{i}-{tag}")), &input).unwrap();
                written += 1;
            }
        }
    }
    println!("{written} seeds in {}", dir.display());
}
