//! `vipctl status` as a text table.

use super::protocol::{StatusReport, format_unix_ms};

/// Renders the status as an aligned table, one instance per line; an instance's last alarm
/// and why it is not running follow on indented lines of their own.
pub fn render(report: &StatusReport) -> String {
    let head = [
        "INSTANCE",
        "IFACE",
        "VRID",
        "ADDRESS",
        "STATE",
        "HOLDS",
        "PRIO",
        "ROLE",
        "MASTER",
        "VIPS",
        "CHECKS",
        "UPTIME",
        "LAST TRANSITION",
    ];
    let mut rows: Vec<Vec<String>> = vec![head.iter().map(|s| (*s).to_owned()).collect()];
    // Lines printed after each row (index into rows).
    let mut notes: Vec<(usize, String)> = Vec::new();
    for i in &report.instances {
        let prio = if i.effective_priority == i.base_priority {
            i.base_priority.to_string()
        } else {
            format!("{} ({})", i.effective_priority, i.base_priority)
        };
        let last = match &i.last_transition {
            None => "-".to_owned(),
            Some(t) => format!(
                "{} {} -> {}: {}",
                format_unix_ms(t.at_unix_ms),
                t.from,
                t.to,
                t.reason
            ),
        };
        let role = match (&i.role, i.role_rank) {
            (None, _) => "-".to_owned(),
            (Some(r), None) => r.clone(),
            (Some(r), Some(rank)) => format!("{r} (rank {rank})"),
        };
        let checks = if i.checks.is_empty() {
            "-".to_owned()
        } else {
            i.checks
                .iter()
                .map(|c| format!("{}={}", c.name, c.state))
                .collect::<Vec<_>>()
                .join(",")
        };
        rows.push(vec![
            i.name.clone(),
            i.interface.clone(),
            i.vrid.to_string(),
            i.address.clone().unwrap_or_else(|| "-".into()),
            if i.maintenance {
                format!("{} (maintenance)", i.state)
            } else {
                i.state.clone()
            },
            if i.holds_vips { "yes" } else { "no" }.to_owned(),
            prio,
            role,
            i.master.clone().unwrap_or_else(|| "-".into()),
            i.vips.join(","),
            checks,
            i.uptime_secs.map_or_else(|| "-".to_owned(), format_uptime),
            last,
        ]);
        if let Some(a) = &i.last_alarm {
            let at = format_unix_ms(a.at_unix_ms);
            notes.push((rows.len() - 1, format!("  last alarm: {at} {}", a.reason)));
        }
        if let Some(e) = &i.last_error {
            notes.push((rows.len() - 1, format!("  not running: {e}")));
        }
    }
    let cols = head.len();
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .map(|r| r.get(c).map_or(0, |s| s.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (index, r) in rows.iter().enumerate() {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            if c + 1 == cols {
                line.push_str(cell);
            } else {
                let w = widths.get(c).copied().unwrap_or(0);
                line.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
        for (_, note) in notes.iter().filter(|(row, _)| *row == index) {
            out.push_str(note);
            out.push('\n');
        }
    }
    out
}

/// `3d4h`, `2h5m`, `4m10s`, `12s`.
pub fn format_uptime(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m{s}s"),
        (0, _, _) => format!("{h}h{m}m"),
        _ => format!("{d}d{h}h"),
    }
}
