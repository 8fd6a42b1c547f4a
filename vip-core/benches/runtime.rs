//! Runtime overhead: how long the tokio runtime takes to carry one takeover cycle through its
//! backends, against the bare machine doing the same steps inline.
//!
//! The cycle: a master hears that its VIP was removed externally; the machine removes the VIPs,
//! probes, and re-adds them. Through the runtime that is a handle call, three backend calls
//! (remove in the ordered lane, the in-use probe as its own task, add in the lane) and the
//! results fed back; measured from `vip_removed()` until the `add` backend call is entered.
//! The baseline feeds the same inputs to a bare `Election` and answers its actions inline.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::sync::mpsc;
use vip_core::election::{Action, AddressOp, Election, ElectionConfig, Input, State, StopMode};
use vip_core::runtime::{AdvertSink, InstanceSpec, Runtime};
use vip_core::{AddressManager, Error, InUse, Interval, Priority, Timestamp, Vip};

struct Addresses {
    added: mpsc::UnboundedSender<()>,
}

#[async_trait]
impl AddressManager for Addresses {
    async fn add(&self, _: &[Vip]) -> Result<(), Error> {
        let _ = self.added.send(());
        Ok(())
    }
    async fn remove(&self, _: &[Vip]) -> Result<(), Error> {
        Ok(())
    }
    async fn list(&self, _: &str) -> Result<Vec<Vip>, Error> {
        Ok(Vec::new())
    }
    async fn announce(&self, _: &[Vip]) -> Result<(), Error> {
        Ok(())
    }
    async fn probe_in_use(&self, _: &[Vip], _: Duration) -> Result<InUse, Error> {
        Ok(InUse::Free)
    }
}

struct Sink;

#[async_trait]
impl AdvertSink for Sink {
    async fn send_advert(&self, _: Priority) -> Result<(), Error> {
        Ok(())
    }
}

fn config() -> ElectionConfig {
    let vip = Vip::host("198.51.100.10".parse().unwrap(), "eth0");
    let mut c = ElectionConfig::new(1, "198.51.100.1".parse().unwrap(), vec![vip]);
    c.advert_interval = Interval::from_centis(10);
    c
}

fn bench_runtime(c: &mut Criterion) {
    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let (added_tx, mut added_rx) = mpsc::unbounded_channel();
    let rt = Runtime::new();
    let handle = tokio_rt.block_on(async {
        let spec = InstanceSpec::new(
            "bench",
            config(),
            Arc::new(Addresses { added: added_tx }),
            Arc::new(Sink),
        );
        let handle = rt.spawn(spec).unwrap();
        added_rx.recv().await.unwrap();
        let mut status = handle.watch_status();
        status.wait_for(|s| s.state == State::Master).await.unwrap();
        handle
    });

    let mut group = c.benchmark_group("takeover_cycle");
    group.bench_function("runtime", |b| {
        b.iter_custom(|iters| {
            tokio_rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let t0 = Instant::now();
                    handle.vip_removed().unwrap();
                    added_rx.recv().await.unwrap();
                    total += t0.elapsed();
                    // Let the announce and the Master transition settle before the next round.
                    let mut status = handle.watch_status();
                    status
                        .wait_for(|s| s.state == State::Master && s.holds_vips)
                        .await
                        .unwrap();
                }
                total
            })
        })
    });

    let mut machine = Election::new(config(), 1);
    let mut now = Timestamp::ZERO;
    machine.handle(now, Input::Start);
    let drive = |machine: &mut Election, now: Timestamp, input: Input| -> bool {
        let mut queue = vec![input];
        let mut added = false;
        while let Some(input) = queue.pop() {
            machine.handle(now, input);
            while let Some(action) = machine.poll_action() {
                match action {
                    Action::AddVips(_) => {
                        added = true;
                        queue.push(Input::Address {
                            op: AddressOp::Add,
                            result: Ok(()),
                        });
                    }
                    Action::RemoveVips(_) => queue.push(Input::Address {
                        op: AddressOp::Remove,
                        result: Ok(()),
                    }),
                    Action::Announce(_) => queue.push(Input::Address {
                        op: AddressOp::Announce,
                        result: Ok(()),
                    }),
                    Action::ProbeInUse { id, .. } => queue.push(Input::InUse {
                        probe: id,
                        result: Ok(InUse::Free),
                    }),
                    _ => {}
                }
            }
        }
        added
    };
    // Become master once.
    while machine.state() != State::Master {
        now = machine.poll_timeout().unwrap();
        drive(&mut machine, now, Input::Timer);
    }
    group.bench_function("bare_machine", |b| {
        b.iter(|| {
            let added = drive(&mut machine, now, Input::VipRemovedExternally);
            assert!(added && machine.state() == State::Master);
        })
    });
    group.finish();

    tokio_rt.block_on(handle.stop(StopMode::Release));
}

criterion_group!(benches, bench_runtime);
criterion_main!(benches);
