//! VIPs a release left behind: an instance stopped with `on_stop = "release"`, but the removal
//! of its VIPs failed (it is bounded by `timeouts.address`, and 200 instances stopping at once
//! on a loaded machine can run out of it). The VIPs may still be on this node, whose instance
//! will no longer move them. The election has stopped (its priority-0 advert is out), so
//! removing them now is always right: [`remove`] tries once more, bounded by [`STOP_REMOVAL`],
//! and says so loudly if that fails too.

use std::time::Duration;

use vip_core::{AddressManager, Vip};

/// How long a stopped instance goes on trying to remove the VIPs its release left behind.
pub(crate) const STOP_REMOVAL: Duration = Duration::from_secs(5);

/// Removes `vips` of the stopped instance `instance` (the address manager removes only
/// addresses carrying vip's tag); logs a warning if that worked, an error naming the VIPs if
/// not. Returns whether they were removed.
pub(crate) async fn remove(addresses: &dyn AddressManager, instance: &str, vips: &[Vip]) -> bool {
    let why = match tokio::time::timeout(STOP_REMOVAL, addresses.remove(vips)).await {
        Ok(Ok(())) => {
            tracing::warn!(
                instance,
                "VIPs left behind by the release removed after the instance stopped"
            );
            return true;
        }
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("their removal did not finish within {STOP_REMOVAL:?}"),
    };
    let vips: Vec<String> = vips.iter().map(ToString::to_string).collect();
    tracing::error!(
        instance,
        vips = %vips.join(", "),
        "instance stopped, but its VIPs may still be on this node (remove them by hand): {why}"
    );
    false
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Mutex;
    use std::time::Duration;

    use vip_core::{AddressManager, Error, InUse, Vip, async_trait};

    use super::{STOP_REMOVAL, remove};

    /// Wiring only: a removal that succeeds, fails or hangs.
    enum Removal {
        Works,
        Fails,
        Hangs,
    }

    struct Fake {
        removal: Removal,
        asked: Mutex<Vec<Vip>>,
    }

    #[async_trait]
    impl AddressManager for Fake {
        async fn add(&self, _: &[Vip]) -> Result<(), Error> {
            Ok(())
        }
        async fn remove(&self, vips: &[Vip]) -> Result<(), Error> {
            self.asked.lock().unwrap().extend_from_slice(vips);
            match self.removal {
                Removal::Works => Ok(()),
                Removal::Fails => Err(Error::Other {
                    operation: "remove vip".into(),
                    message: "refused".into(),
                    transient: true,
                }),
                Removal::Hangs => std::future::pending().await,
            }
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

    fn vips() -> Vec<Vip> {
        vec![Vip::host("203.0.113.7".parse().unwrap(), "eth0")]
    }

    async fn run(removal: Removal) -> (bool, Vec<Vip>, Duration) {
        let fake = Fake {
            removal,
            asked: Mutex::default(),
        };
        let start = tokio::time::Instant::now();
        let removed = remove(&fake, "vi7", &vips()).await;
        let asked = fake.asked.lock().unwrap().clone();
        (removed, asked, start.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn a_working_removal_removes_the_instances_vips() {
        let (removed, asked, _) = run(Removal::Works).await;
        assert!(removed);
        assert_eq!(asked, vips());
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_or_hanging_removal_is_reported_within_the_stop_bound() {
        let (removed, asked, _) = run(Removal::Fails).await;
        assert!(!removed);
        assert_eq!(asked, vips());
        let (removed, _, took) = run(Removal::Hangs).await;
        assert!(!removed);
        assert_eq!(took, STOP_REMOVAL);
    }
}
