//! One `Election::handle` call on an advert, in Backup (the steady state of every backup) and
//! in Master (a lower-priority advert: discard and re-advertise at once).
//!
//! `cargo bench -p vip-core --bench election` runs criterion (wall time). On a shared, loaded
//! machine wall time includes preemption by other processes; for a CPU-time cross-check run the
//! binary in fixed mode under `perf stat -e task-clock`:
//! `VIP_BENCH_FIXED=backup:100000000 perf stat -e task-clock target/release/deps/election-*`
//! and divide the task-clock by the iteration count.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::net::IpAddr;

use criterion::{Criterion, criterion_group};
use vip_core::election::{Action, Advert, Election, ElectionConfig, Input, State};
use vip_core::{InUse, Interval, PeerId, Priority, Timestamp, Vip};

fn config() -> ElectionConfig {
    let local: IpAddr = "198.51.100.10".parse().unwrap();
    ElectionConfig::new(
        51,
        local,
        vec![Vip::host("198.51.100.100".parse().unwrap(), "eth0")],
    )
}

fn advert(from: &str, priority: u8) -> Input {
    Input::Advert(Advert {
        from: PeerId(from.parse().unwrap()),
        priority: Priority::new(priority),
        max_advert_interval: Interval::from_centis(100),
        address_mismatch: false,
    })
}

fn drain(e: &mut Election) {
    while let Some(a) = e.poll_action() {
        black_box(a);
    }
}

fn backup() -> Election {
    let mut e = Election::new(config(), 1);
    e.handle(Timestamp::ZERO, Input::Start);
    drain(&mut e);
    assert_eq!(e.state(), State::Backup);
    e
}

fn master() -> Election {
    let mut e = backup();
    while e.state() != State::Master {
        let t = e.poll_timeout().unwrap();
        e.handle(t, Input::Timer);
        while let Some(a) = e.poll_action() {
            if let Action::ProbeInUse { id, .. } = a {
                e.handle(
                    t,
                    Input::InUse {
                        probe: id,
                        result: Ok(InUse::Free),
                    },
                );
            }
        }
    }
    drain(&mut e);
    e
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("election_handle_advert");

    let mut e = backup();
    let input = advert("198.51.100.20", 200);
    let mut now = 1_000u64;
    group.bench_function("backup", |b| {
        b.iter(|| {
            now += 1;
            e.handle(Timestamp::from_micros(now), black_box(input.clone()));
        })
    });
    assert_eq!(e.state(), State::Backup);
    assert_eq!(e.poll_action(), None);

    let mut e = master();
    let input = advert("198.51.100.5", 50);
    let mut now = 10_000_000u64;
    group.bench_function("master", |b| {
        b.iter(|| {
            now += 1;
            e.handle(Timestamp::from_micros(now), black_box(input.clone()));
            drain(&mut e);
        })
    });
    assert_eq!(e.state(), State::Master);
    group.finish();
}

/// Fixed mode: `SCENARIO:ITERATIONS` with SCENARIO `backup` or `master`, no criterion.
fn fixed(spec: &str) {
    let (scenario, iters) = spec
        .split_once(':')
        .expect("VIP_BENCH_FIXED=backup|master:N");
    let iters: u64 = iters.parse().expect("iteration count");
    let (mut e, input) = match scenario {
        "backup" => (backup(), advert("198.51.100.20", 200)),
        "master" => (master(), advert("198.51.100.5", 50)),
        other => panic!("unknown scenario {other}"),
    };
    let start = std::time::Instant::now();
    for i in 0..iters {
        e.handle(
            Timestamp::from_micros(10_000_000 + i),
            black_box(input.clone()),
        );
        drain(&mut e);
    }
    let wall = start.elapsed();
    println!(
        "{scenario}: {iters} iterations, wall {:.2} ns/iter (divide perf task-clock by {iters} for CPU time)",
        wall.as_nanos() as f64 / iters as f64
    );
}

criterion_group!(benches, bench);

fn main() {
    if let Ok(spec) = std::env::var("VIP_BENCH_FIXED") {
        fixed(&spec);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
