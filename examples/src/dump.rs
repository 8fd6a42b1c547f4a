//! What SIGUSR1 and SIGUSR2 log (keepalived's habits, into vipd's log instead of files in /tmp):
//! every instance's status, and every counter.

use crate::control::StatusReport;

/// Logs one line per instance: `status dump: {...}` with the instance's status as JSON (the
/// same object `vipctl status --json` shows).
pub fn status(report: &StatusReport) {
    tracing::info!(
        pid = report.daemon.pid,
        instances = report.instances.len(),
        "status dump (SIGUSR1)"
    );
    for inst in &report.instances {
        match serde_json::to_string(inst) {
            Ok(json) => tracing::info!("status dump: {json}"),
            Err(e) => tracing::warn!("status dump: cannot encode an instance: {e}"),
        }
    }
}

/// The counter samples of a Prometheus text exposition (`# TYPE NAME counter` families),
/// one `name{labels} value` line each.
pub fn counter_lines(exposition: &str) -> Vec<&str> {
    let mut counters: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for line in exposition.lines() {
        if let Some(t) = line.strip_prefix("# TYPE ") {
            if let Some(name) = t.strip_suffix(" counter") {
                counters.push(name);
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let name = line.split(['{', ' ']).next().unwrap_or_default();
        if counters.contains(&name) {
            out.push(line);
        }
    }
    out
}

/// Logs every counter sample of `exposition`, one line each: `counter: NAME{LABELS} VALUE`.
pub fn counters(exposition: &str) {
    let lines = counter_lines(exposition);
    tracing::info!(samples = lines.len(), "counters dump (SIGUSR2)");
    for l in lines {
        tracing::info!("counter: {l}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_counter_samples_are_listed() {
        let text = "# HELP a_total x\n# TYPE a_total counter\na_total{i=\"db\"} 3\n\
                    # TYPE g gauge\ng{i=\"db\"} 1\n# TYPE b_total counter\nb_total 0\n";
        assert_eq!(counter_lines(text), ["a_total{i=\"db\"} 3", "b_total 0"]);
    }
}
