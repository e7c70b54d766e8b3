//! The real binary as a process: started, its log read, its memory.

/// The real binary, started with `envs`; its output is collected line by line.
pub struct Binary {
    pub child: tokio::process::Child,
    pub addr: String,
    pub bootstrap_link: Option<String>,
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

pub async fn start_binary(args: &[&str], envs: &[(&str, &std::ffi::OsStr)]) -> Binary {
    use tokio::io::AsyncBufReadExt;
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_taskcenter-wizard"));
    cmd.args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn the binary");
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    for stream in [
        Box::new(child.stdout.take().expect("stdout"))
            as Box<dyn tokio::io::AsyncRead + Unpin + Send>,
        Box::new(child.stderr.take().expect("stderr")),
    ] {
        let (log, tx) = (log.clone(), tx.clone());
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(stream).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = tx.send(line.clone());
                log.lock().expect("log").push(line);
            }
        });
    }
    drop(tx);
    let (mut addr, mut link) = (None, None);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while addr.is_none()
        || (link.is_none() && addr.is_some() && tokio::time::Instant::now() < deadline)
    {
        let line = match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(l)) => l,
            _ => break,
        };
        if let Some(rest) = line.split("ready at http://").nth(1) {
            addr = rest.split_whitespace().next().map(str::to_string);
            // A database with accounts prints no link; stop waiting shortly after.
            if tokio::time::timeout(std::time::Duration::from_millis(300), async {
                while let Some(l) = rx.recv().await {
                    if let Some(link) = l.split("single-use link (valid 24 hours): ").nth(1) {
                        return Some(link.trim().to_string());
                    }
                }
                None
            })
            .await
            .ok()
            .flatten()
            .map(|l| link = Some(l))
            .is_none()
            {
                break;
            }
        }
    }
    Binary {
        child,
        addr: addr.expect("the binary printed its address"),
        bootstrap_link: link,
        log,
    }
}

/// The path of an absolute link (whatever its host), e.g. of an invite link.
pub fn path_of(link: &str) -> String {
    let rest = link.split_once("://").map_or(link, |(_, r)| r);
    rest.find('/').map_or("/".into(), |i| rest[i..].to_string())
}

/// Peak and current resident memory of a process, in MB (VmHWM, VmRSS).
pub fn memory_mb(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (kb("VmHWM:") / 1024.0, kb("VmRSS:") / 1024.0)
}

/// True when `needle` occurs anywhere in `hay`.
pub fn contains_bytes(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The sandbox address the binary logged in sandbox mode.
pub fn sandbox_of(bin: &Binary) -> String {
    let log = bin.log.lock().expect("log").join("\n");
    let rest = log
        .split("SAP calls go to the sandbox at ")
        .nth(1)
        .expect("sandbox address logged")
        .to_string();
    rest.split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}
