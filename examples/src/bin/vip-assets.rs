//! vip-assets DIR: writes the man pages and shell completions of vipd and vipctl under DIR
//! (for the Debian package: `scripts/package`). Not installed.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: vip-assets DIR");
        return ExitCode::from(2);
    };
    match vip_examples::cli::write_assets(&dir) {
        Ok(files) => {
            for f in files {
                println!("{}", dir.join(f).display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("vip-assets: {e}");
            ExitCode::FAILURE
        }
    }
}
