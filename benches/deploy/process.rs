//! Running a program as its own process and reading what it cost: wall time from spawn to
//! exit and peak RSS from the kernel's accounting of that one child (`wait4`'s rusage).

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A finished process.
pub(crate) struct Finished {
    pub code: i32,
    pub wall: Duration,
    /// `ru_maxrss` of the child, in KiB on Linux.
    pub peak_rss_kib: u64,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// `exit N: <last line of stderr>`, for a row that failed.
    pub(crate) fn failure(&self) -> String {
        let last = self
            .stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        format!("exit {}: {}", self.code, last.trim())
    }
}

/// Runs `cmd` to its end, with stdin closed and its output captured.
// The child is reaped by `wait4` (which also gives its rusage), not `Child::wait`.
#[allow(clippy::zombie_processes)]
pub(crate) fn run(mut cmd: Command) -> Finished {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("piped")));
    let err = drain(Box::new(child.stderr.take().expect("piped")));
    let (status, usage) = wait4(child.id() as libc::pid_t);
    let wall = started.elapsed();
    Finished {
        code: match libc::WIFEXITED(status) {
            true => libc::WEXITSTATUS(status),
            false => -1,
        },
        wall,
        peak_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        stdout: out.join().expect("stdout"),
        stderr: err.join().expect("stderr"),
    }
}

/// Waits for the child `pid`; its exit status and resource usage. The `Child` is not
/// waited for afterwards (the kernel has reaped it here).
#[expect(
    unsafe_code,
    reason = "std has no wait4(2), the only way to a child's peak RSS"
)]
fn wait4(pid: libc::pid_t) -> (i32, libc::rusage) {
    let mut status = 0;
    // SAFETY: `rusage` is plain data the kernel fills; all zeros is a valid value of it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own child, not yet reaped; both pointers are to live locals.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            return (status, usage);
        }
        let e = std::io::Error::last_os_error();
        assert_eq!(
            e.kind(),
            std::io::ErrorKind::Interrupted,
            "wait4({pid}): {e}"
        );
    }
}
