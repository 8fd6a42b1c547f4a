//! Time to apply one health change: vip-lb's netlink batch against an `nft -f` subprocess per
//! change, same run, inside a lab network namespace (never the host's rules).
//!
//! A change flips the first real server of the first service out of / back into the pool.
//! Four ways are timed: vip-lb's health change (one batch replacing that service's chain
//! contents, map and target chains), vip-lb's full rewrite (the whole table in one batch), and
//! an `nft -f` subprocess doing each of the two (same chains; nft's inline vmap instead of the
//! named map). Run by
//! `scripts/bench-lb`; needs root. `REPS` rounds (default 5) of `CHANGES` changes (default 400
//! for netlink, a quarter of that for `nft -f`); prints the median and p90 per round and over
//! all rounds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vip_lb::nft_batch::{to_nft_script, to_nft_update_script};
use vip_lb::{KernelRules, NftRules, Protocol, RuleSet, Scheduler, ServiceRules, Target};

fn ruleset(services: usize, first_out: bool) -> RuleSet {
    RuleSet {
        services: (0..services)
            .map(|i| ServiceRules {
                name: format!("svc{i}"),
                vip: format!("198.51.100.{}", 10 + i).parse().unwrap(),
                port: 3306,
                protocol: Protocol::Tcp,
                scheduler: Scheduler::Wrr,
                targets: (0..3)
                    .filter(|&j| !(first_out && i == 0 && j == 0))
                    .map(|j| Target {
                        addr: format!("203.0.113.{}:3306", 2 + j).parse().unwrap(),
                        weight: 100,
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn stats(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let med = v.get(v.len() / 2).copied().map_or(0.0, us);
    let p90 = v.get(v.len() * 9 / 10).copied().map_or(0.0, us);
    (med, p90)
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Times `n` runs of `f(i)`.
fn time(n: usize, mut f: impl FnMut(usize)) -> Vec<Duration> {
    (0..n)
        .map(|i| {
            let t = Instant::now();
            f(i);
            t.elapsed()
        })
        .collect()
}

fn nft_f(file: &std::path::Path) {
    let status = Command::new("nft")
        .arg("-f")
        .arg(file)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "nft -f {}", file.display());
}

/// Prints one table row: median / p90 of each way, and the ratio of the health-change medians.
fn row(services: usize, label: &str, r: &Round, bold: bool) {
    let m: Vec<(f64, f64)> = r.iter().map(|v| stats(v.clone())).collect();
    let b = if bold { "**" } else { "" };
    let cells: Vec<String> = m
        .iter()
        .map(|(med, p90)| format!("{b}{med:.0}{b} / {p90:.0}"))
        .collect();
    println!(
        "| {services} x 3 | {label} | {} | {b}{:.0}{b} |",
        cells.join(" | "),
        m[2].0 / m[0].0
    );
}

/// Per round: netlink health change, netlink full rewrite, nft -f health change, nft -f full.
type Round = [Vec<Duration>; 4];

fn main() {
    // `cargo bench` passes `--bench`; nothing else is read from the command line.
    let Some(mut lab) = vip_core::lab::Lab::new_or_skip("lbbench").unwrap() else {
        return;
    };
    let ns = lab.namespace("lb").unwrap();
    let reps = env("REPS", 5);
    let changes = env("CHANGES", 400);
    let dir = std::env::temp_dir().join(lab.prefix());
    std::fs::create_dir_all(&dir).unwrap();
    println!(
        "| services x real servers | round | health change, netlink (us) | full rewrite, netlink (us) | health change, nft -f (us) | full rewrite, nft -f (us) | nft -f / netlink, health change |"
    );
    println!("|---|---|---|---|---|---|---|");
    for services in [1usize, 20] {
        let a = ruleset(services, false);
        let b = ruleset(services, true);
        let write = |name: &str, text: String| {
            let f = dir.join(format!("{name}{services}.nft"));
            std::fs::write(&f, text).unwrap();
            f
        };
        let files = [
            write("full-a", to_nft_script(&a)),
            write("full-b", to_nft_script(&b)),
            write("a-to-b", to_nft_update_script(&a, &b)),
            write("b-to-a", to_nft_update_script(&b, &a)),
        ];
        let mut all: Round = Default::default();
        for round in 1..=reps {
            let (a, b, files) = (a.clone(), b.clone(), files.clone());
            let r: Round = ns
                .enter(move || {
                    let slow = (changes / 4).max(2);
                    let mut k = NftRules::open().unwrap();
                    k.apply(&a).unwrap();
                    let pick = |i: usize| if i.is_multiple_of(2) { &b } else { &a };
                    let nl = time(changes, |i| k.apply(pick(i)).unwrap());
                    let nl_full = time(changes, |i| k.apply_full(pick(i)).unwrap());
                    k.remove().unwrap();
                    nft_f(&files[0]);
                    let nft = time(slow, |i| nft_f(&files[2 + i % 2]));
                    let nft_full = time(slow, |i| nft_f(&files[1 - i % 2]));
                    k.remove().unwrap();
                    [nl, nl_full, nft, nft_full]
                })
                .unwrap();
            row(services, &round.to_string(), &r, false);
            for (acc, v) in all.iter_mut().zip(r) {
                acc.extend(v);
            }
        }
        row(services, "all", &all, true);
    }
    println!("(each cell: median / p90 over the round's changes)");
    let _ = std::fs::remove_dir_all(&dir);
}
