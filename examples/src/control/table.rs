//! `vipctl status` as a text table.

use super::protocol::{StatusReport, format_unix_ms};

/// Renders the status as an aligned table, one instance per line.
pub fn render(report: &StatusReport) -> String {
    let head = [
        "INSTANCE",
        "IFACE",
        "VRID",
        "STATE",
        "PRIO",
        "MASTER",
        "VIPS",
        "LAST TRANSITION",
    ];
    let mut rows: Vec<Vec<String>> = vec![head.iter().map(|s| (*s).to_owned()).collect()];
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
        rows.push(vec![
            i.name.clone(),
            i.interface.clone(),
            i.vrid.to_string(),
            i.state.clone(),
            prio,
            i.master.clone().unwrap_or_else(|| "-".into()),
            i.vips.join(","),
            last,
        ]);
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
    for r in &rows {
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
    }
    out
}
