//! Running a program as its own process and reading what it cost: wall time from spawn to
//! exit and peak RSS from the kernel's accounting of that one child (`wait4`'s rusage).

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A finished process.
pub(crate) struct Finished {
    pub code: i32,
    pub wall: Duration,
    /// `ru_maxrss` of the child, in KiB on Linux: its own peak only when this process was
    /// small when it spawned the child (see [`peak_rss`]).
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

/// The argument that makes the benchmark's binary a spawner: `deploy --peak-rss-of PROGRAM
/// ARGS...` runs PROGRAM, prints `peak_rss_kib N` and exits with its code.
pub(crate) const PEAK_RSS_OF: &str = "--peak-rss-of";

/// The peak RSS of `cmd`, run once through the benchmark's own binary as a spawner, and
/// its exit code. A child's `ru_maxrss` counts the memory its parent had when it was
/// spawned (the kernel keeps the larger of the two through `exec`), and the benchmark holds
/// emulators and journals by then; the spawner, started fresh, holds a few MiB. `cmd`'s
/// program, arguments, directory and the variables it sets are passed on, with nothing
/// else of the environment but `PATH`.
pub(crate) fn peak_rss(cmd: &Command) -> (i32, u64) {
    let mut spawner = Command::new(std::env::current_exe().expect("the benchmark's binary"));
    spawner
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .arg(PEAK_RSS_OF)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            spawner.env(k, v);
        }
    }
    if let Some(dir) = cmd.get_current_dir() {
        spawner.current_dir(dir);
    }
    let done = run(spawner);
    let rss = done
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("peak_rss_kib ")?.parse().ok())
        .unwrap_or_else(|| panic!("the spawner said no peak RSS: {}", done.failure()));
    (done.code, rss)
}

/// In the spawner (`deploy --peak-rss-of PROGRAM ARGS...`): run PROGRAM and print its
/// peak RSS; `None` in the benchmark itself.
pub(crate) fn spawner_exit_code() -> Option<i32> {
    let mut argv = std::env::args_os().skip(1);
    if argv.next()? != PEAK_RSS_OF {
        return None;
    }
    let mut cmd = Command::new(argv.next().expect("a program"));
    cmd.args(argv);
    let done = run(cmd);
    println!("peak_rss_kib {}", done.peak_rss_kib);
    Some(done.code)
}

/// Whether `a` and `b` are one file (one may be a hard link to the other).
pub(crate) fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => false,
    }
}
