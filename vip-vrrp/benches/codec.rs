//! Codec benchmarks: parse+validate and emit, per packet, for typical 1-address adverts.
//!
//! Each case runs twice: with criterion's wall clock (`wall/...`) and with the benchmark
//! thread's CPU time (`cpu/...`, `CLOCK_THREAD_CPUTIME_ID`). On a shared machine the wall clock
//! also counts the time other processes held the core; the CPU-time figure does not.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::net::IpAddr;
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rustix::time::{ClockId, clock_gettime};
use vip_core::election::Version;
use vip_core::{Interval, Priority};
use vip_vrrp::wire::{
    AddressFamily, AddressList, Auth, ChecksumMode, Packet, Repr, RxContext, TxContext, VridSet,
};

/// CPU time of the calling thread.
struct ThreadCpuTime(WallTime);

fn thread_cpu_now() -> Duration {
    let t = clock_gettime(ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

impl Measurement for ThreadCpuTime {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        thread_cpu_now()
    }
    fn end(&self, start: Duration) -> Duration {
        thread_cpu_now().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        self.0.formatter()
    }
}

struct Case {
    name: &'static str,
    repr: Repr,
    tx: TxContext,
    rx: RxContext,
}

fn case(
    name: &'static str,
    (version, interval, auth): (Version, Interval, Auth),
    (src, dst): (&str, &str),
    addrs: &[&str],
    mode: ChecksumMode,
) -> Case {
    let src: IpAddr = src.parse().unwrap();
    let dst: IpAddr = dst.parse().unwrap();
    let addrs: Vec<IpAddr> = addrs.iter().map(|a| a.parse().unwrap()).collect();
    let repr = Repr {
        version,
        vrid: 51,
        priority: Priority::new(101),
        max_advert_interval: interval,
        addresses: AddressList::new(AddressFamily::of(src), &addrs).unwrap(),
        auth,
    };
    // A realistic receiver: a few VRIDs configured on the interface.
    let vrids: VridSet = [7u8, 51, 52, 200].into_iter().collect();
    Case {
        name,
        repr,
        tx: TxContext::new(src, dst).with_checksum(mode),
        rx: RxContext::new(version, vrids)
            .with_auth(auth)
            .packet(src, dst, 255),
    }
}

fn cases() -> Vec<Case> {
    let v2 = (
        Version::V2,
        Interval::from_secs(1),
        Auth::simple(b"1111").unwrap(),
    );
    let v3 = (Version::V3, Interval::from_centis(100), Auth::None);
    let v4 = ("198.51.100.11", "224.0.0.18");
    let v6 = ("fe80::1", "ff02::12");
    vec![
        case(
            "v2_pass_ipv4",
            v2,
            v4,
            &["198.51.100.100"],
            ChecksumMode::MessageOnly,
        ),
        case(
            "v3_ipv4_pseudo",
            v3,
            v4,
            &["198.51.100.100"],
            ChecksumMode::PseudoHeader,
        ),
        case(
            "v3_ipv4_message_only",
            v3,
            v4,
            &["198.51.100.100"],
            ChecksumMode::MessageOnly,
        ),
        case(
            "v3_ipv6",
            v3,
            v6,
            &["2001:db8::100"],
            ChecksumMode::PseudoHeader,
        ),
    ]
}

fn run<M: Measurement>(c: &mut Criterion<M>, clock: &str) {
    for case in cases() {
        let mut bytes = vec![0u8; case.repr.buffer_len()];
        case.repr
            .emit(&mut Packet::new_unchecked(&mut bytes[..]), &case.tx)
            .unwrap();
        let parsed = Repr::parse(&Packet::new_checked(&bytes[..]).unwrap(), &case.rx);
        assert_eq!(parsed.unwrap(), case.repr);

        let mut group = c.benchmark_group(format!("{clock}/{}", case.name));
        group.throughput(Throughput::Elements(1));
        group.bench_function("parse_validate", |b| {
            b.iter(|| {
                let packet = Packet::new_unchecked(black_box(&bytes[..]));
                let parsed = Repr::parse(&packet, black_box(&case.rx));
                // The whole result is materialized in memory (its address escapes) and then
                // dropped; it is not copied again by the harness.
                black_box(&parsed);
            })
        });
        let mut out = [0u8; 64];
        let len = case.repr.buffer_len();
        group.bench_function("emit", |b| {
            b.iter(|| {
                let mut packet = Packet::new_unchecked(black_box(&mut out[..len]));
                black_box(&case.repr).emit(&mut packet, black_box(&case.tx))
            })
        });
        group.finish();
    }
}

fn wall(c: &mut Criterion) {
    run(c, "wall");
}

fn cpu(c: &mut Criterion<ThreadCpuTime>) {
    run(c, "cpu");
}

criterion_group!(wall_clock, wall);
criterion_group! {
    name = cpu_time;
    config = Criterion::default().with_measurement(ThreadCpuTime(WallTime));
    targets = cpu
}
criterion_main!(wall_clock, cpu_time);
