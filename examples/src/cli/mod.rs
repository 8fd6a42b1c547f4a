//! The command lines of `vipd` and `vipctl` (clap), and the files generated from them for the
//! package: man pages (clap_mangen) and shell completions (clap_complete). `vip-assets DIR`
//! writes them; the binaries that ship do not link the generators.

pub mod vipctl;
pub mod vipd;

use std::io;
use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;

/// Writes, under `dir`: the man pages `man/vipd.8` and `man/vipctl.1` with one page per
/// subcommand (`man/vipctl-status.1`, ...), and for each of bash, zsh and fish the completions
/// of both programs (`bash/vipd`, `zsh/_vipd`, `fish/vipd.fish`, ...). Returns the files
/// written, relative to `dir`.
pub fn write_assets(dir: &Path) -> io::Result<Vec<String>> {
    let mut written = Vec::new();
    for (mut cmd, section) in [(vipd::Cli::command(), "8"), (vipctl::Cli::command(), "1")] {
        let name = cmd.get_name().to_owned();
        cmd = cmd.disable_help_subcommand(true);
        cmd.build();
        man_pages(&cmd, section, dir, &mut written)?;
        for (shell, file) in [
            (Shell::Bash, name.clone()),
            (Shell::Zsh, format!("_{name}")),
            (Shell::Fish, format!("{name}.fish")),
        ] {
            let mut text = Vec::new();
            clap_complete::generate(shell, &mut cmd, name.clone(), &mut text);
            let rel = format!("{shell}/{file}");
            write(dir, &rel, &text)?;
            written.push(rel);
        }
    }
    Ok(written)
}

/// The page of `cmd` and of each of its visible subcommands, in `section`.
fn man_pages(
    cmd: &clap::Command,
    section: &str,
    dir: &Path,
    written: &mut Vec<String>,
) -> io::Result<()> {
    let man = clap_mangen::Man::new(cmd.clone())
        .section(section)
        .manual("vip")
        .source(format!("vip {}", env!("CARGO_PKG_VERSION")));
    let mut page = Vec::new();
    man.render(&mut page)?;
    let rel = format!("man/{}", man.get_filename());
    write(dir, &rel, &page)?;
    written.push(rel);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        man_pages(sub, section, dir, written)?;
    }
    Ok(())
}

fn write(dir: &Path, rel: &str, bytes: &[u8]) -> io::Result<()> {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&path, bytes)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}
