//! One network namespace of a lab.

use std::fs::File;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use super::{LabError, LabProcess, guard};

pub(super) fn command_output(argv: &[&str]) -> Result<Output, LabError> {
    let (prog, args) = argv.split_first().ok_or_else(|| LabError::Io {
        context: "empty command".into(),
        source: std::io::Error::from(std::io::ErrorKind::InvalidInput),
    })?;
    Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| LabError::Io {
            context: format!("running {}", argv.join(" ")),
            source,
        })
}

pub(super) fn run(argv: &[&str]) -> Result<String, LabError> {
    let out = command_output(argv)?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(LabError::Command {
            command: argv.join(" "),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// A network namespace created by a [`super::Lab`]; it lives as long as the lab.
#[derive(Debug, Clone)]
pub struct Ns {
    name: String,
    prefix: String,
    processes: Arc<Mutex<Vec<u32>>>,
}

impl Ns {
    pub(super) fn new(name: String, prefix: String, processes: Arc<Mutex<Vec<u32>>>) -> Self {
        Ns {
            name,
            prefix,
            processes,
        }
    }

    /// The guard: `argv` acts in no other namespace than the lab's and adds only lab
    /// addresses, and this namespace is not the host's.
    fn check(&self, argv: &[&str]) -> Result<(), LabError> {
        guard::check_command(argv, &self.prefix)?;
        guard::check_namespace(&self.name)
    }

    /// The namespace's name (as `ip netns` knows it).
    pub fn name(&self) -> &str {
        &self.name
    }

    fn wrap<'a>(&'a self, argv: &[&'a str]) -> Vec<&'a str> {
        let mut full = vec!["ip", "netns", "exec", self.name.as_str()];
        full.extend_from_slice(argv);
        full
    }

    /// Runs a command inside the namespace; fails unless it exits 0. Returns its stdout.
    ///
    /// # Errors
    /// [`LabError::Refused`] (nothing runs) if the command would act in another namespace or
    /// add an address outside [`super::LAB_RANGES`]; [`LabError::Command`] if it fails.
    pub fn run(&self, argv: &[&str]) -> Result<String, LabError> {
        self.check(argv)?;
        run(&self.wrap(argv))
    }

    /// Runs a command inside the namespace and returns its full output, whatever the status.
    /// Refused like [`Ns::run`].
    pub fn output(&self, argv: &[&str]) -> Result<Output, LabError> {
        self.check(argv)?;
        command_output(&self.wrap(argv))
    }

    /// Starts a long-running command inside the namespace, with stdout and stderr appended to
    /// `log` if given. The lab kills it on drop if it is still running. Refused like
    /// [`Ns::run`]: a daemon never starts outside a namespace of this lab.
    pub fn spawn(
        &self,
        argv: &[&str],
        log: Option<&std::path::Path>,
    ) -> Result<LabProcess, LabError> {
        self.check(argv)?;
        let full = self.wrap(argv);
        let mut cmd = Command::new(full[0]);
        cmd.args(&full[1..]).stdin(Stdio::null());
        if let Some(path) = log {
            let open = || {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| LabError::Io {
                        context: format!("opening log {}", path.display()),
                        source,
                    })
            };
            cmd.stdout(open()?).stderr(open()?);
        } else {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }
        let child = cmd.spawn().map_err(|source| LabError::Io {
            context: format!("spawning {}", argv.join(" ")),
            source,
        })?;
        let pid = child.id();
        if let Ok(mut p) = self.processes.lock() {
            p.push(pid);
        }
        Ok(LabProcess::new(child))
    }

    /// Runs `f` on a new thread that has entered this namespace, and returns its result. Sockets
    /// (including netlink sockets) created inside `f` stay in the namespace for their lifetime, so
    /// `f` may build a socket or a whole single-threaded tokio runtime and hand it back.
    /// Refused (`f` does not run) if the namespace is the host's.
    pub fn enter<F, R>(&self, f: F) -> Result<R, LabError>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        guard::check_namespace(&self.name)?;
        let path = format!("/var/run/netns/{}", self.name);
        let file = File::open(&path).map_err(|source| LabError::Io {
            context: format!("opening {path}"),
            source,
        })?;
        let handle = std::thread::spawn(move || {
            nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(|e| std::io::Error::from_raw_os_error(e as i32))?;
            Ok::<R, std::io::Error>(f())
        });
        match handle.join() {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(source)) => Err(LabError::Io {
                context: "setns".into(),
                source,
            }),
            Err(_) => Err(LabError::Io {
                context: "thread inside namespace panicked".into(),
                source: std::io::Error::other("panic"),
            }),
        }
    }

    /// Runs the future `f` returns to completion on a current-thread tokio runtime (all drivers
    /// enabled) on a thread inside this namespace, like [`Ns::enter`].
    pub fn block_on<F, Fut, R>(&self, f: F) -> Result<R, LabError>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = R>,
        R: Send + 'static,
    {
        self.enter(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map(|rt| rt.block_on(f()))
        })?
        .map_err(|source| LabError::Io {
            context: "building a tokio runtime".into(),
            source,
        })
    }

    /// The MAC address of `ifname` in this namespace, as `aa:bb:cc:dd:ee:ff`.
    pub fn mac(&self, ifname: &str) -> Result<String, LabError> {
        let path = format!("/sys/class/net/{ifname}/address");
        Ok(self.run(&["cat", &path])?.trim().to_string())
    }
}
