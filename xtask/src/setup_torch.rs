//! `cargo xtask setup-torch`: a virtual environment with PyTorch from PyPI, outside the
//! checkout, and an environment file so that `cargo test --features torch` needs no manual step.
//!
//! 1. Creates the venv (default `$IRONFORGE_TORCH_VENV`, else `$HOME/.cache/ironforge/torch-venv`)
//!    with `python3 -m venv` unless it exists.
//! 2. `pip install torch==2.13.0` unless that version is already importable there.
//! 3. Writes `target/torch-env.sh` (overridable) exporting `LIBTORCH_USE_PYTORCH=1` (torch-sys
//!    links the venv's libtorch), `PATH` (its `python` first) and `LD_LIBRARY_PATH` (torch's
//!    `lib/`, needed at run time): `source target/torch-env.sh && cargo test --features torch`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

/// The PyTorch version `tch` 0.26 is built against.
pub const TORCH_VERSION: &str = "2.13.0";

/// Arguments of this task.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The virtual environment (default: `$IRONFORGE_TORCH_VENV`, else
    /// `$HOME/.cache/ironforge/torch-venv`).
    #[arg(long)]
    pub venv: Option<PathBuf>,
    /// The Python that creates the venv.
    #[arg(long, default_value = "python3")]
    pub python: String,
    /// The PyTorch version to install.
    #[arg(long, default_value = TORCH_VERSION)]
    pub torch_version: String,
    /// Where to write the environment file (relative paths are from the workspace root).
    #[arg(long, default_value = "target/torch-env.sh")]
    pub env_file: PathBuf,
}

/// The default venv: `override_dir` if set, else `<home>/.cache/ironforge/torch-venv`.
pub fn default_venv(override_dir: Option<&str>, home: Option<&str>) -> anyhow::Result<PathBuf> {
    match (override_dir.filter(|s| !s.is_empty()), home.filter(|s| !s.is_empty())) {
        (Some(dir), _) => Ok(PathBuf::from(dir)),
        (None, Some(home)) => Ok(Path::new(home).join(".cache/ironforge/torch-venv")),
        (None, None) => bail!("neither IRONFORGE_TORCH_VENV nor HOME is set: pass --venv"),
    }
}

/// Whether an installed `torch.__version__` (e.g. `2.13.0+cu128`) is the wanted release.
pub fn version_matches(installed: &str, wanted: &str) -> bool {
    let installed = installed.trim();
    installed == wanted || installed.strip_prefix(wanted).is_some_and(|rest| rest.starts_with('+'))
}

/// `s` as one single-quoted shell word.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl Default for Args {
    fn default() -> Self {
        Self {
            venv: None,
            python: "python3".into(),
            torch_version: TORCH_VERSION.into(),
            env_file: PathBuf::from("target/torch-env.sh"),
        }
    }
}

/// The environment file's text for a venv and torch's library folder.
pub fn env_file_contents(venv: &Path, torch_lib: &Path) -> String {
    let bin = shell_quote(&venv.join("bin").to_string_lossy());
    let lib = shell_quote(&torch_lib.to_string_lossy());
    format!(
        "# Written by `cargo xtask setup-torch`; `source` it before `cargo … --features torch`.\n\
         export IRONFORGE_TORCH_VENV={}\n\
         export LIBTORCH_USE_PYTORCH=1\n\
         export PATH={bin}:\"$PATH\"\n\
         export LD_LIBRARY_PATH={lib}\"${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}\"\n",
        shell_quote(&venv.to_string_lossy())
    )
}

fn python_output(python: &Path, code: &str) -> anyhow::Result<Option<String>> {
    let out =
        Command::new(python).args(["-c", code]).output().with_context(|| format!("running {}", python.display()))?;
    Ok(out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string()))
}

fn run_checked(cmd: &mut Command, what: &str) -> anyhow::Result<()> {
    let status = cmd.status().with_context(|| format!("starting {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

/// A venv with PyTorch and torch's library folder: what `--features torch` needs.
#[derive(Debug, Clone)]
pub struct TorchEnv {
    /// The virtual environment.
    pub venv: PathBuf,
    /// torch's `lib/` folder (libtorch).
    pub lib: PathBuf,
}

impl TorchEnv {
    /// The variables the environment file exports, with `PATH` and `LD_LIBRARY_PATH` prefixed
    /// to `path` and `ld_library_path` (the current values), for commands started from Rust.
    pub fn vars(&self, path: Option<&str>, ld_library_path: Option<&str>) -> Vec<(String, String)> {
        let join = |first: &Path, rest: Option<&str>| match rest.filter(|r| !r.is_empty()) {
            Some(r) => format!("{}:{r}", first.display()),
            None => first.display().to_string(),
        };
        vec![
            ("IRONFORGE_TORCH_VENV".into(), self.venv.display().to_string()),
            ("LIBTORCH_USE_PYTORCH".into(), "1".into()),
            ("PATH".into(), join(&self.venv.join("bin"), path)),
            ("LD_LIBRARY_PATH".into(), join(&self.lib, ld_library_path)),
        ]
    }
}

/// Creates or reuses the venv of `args` and installs torch there unless its version is already
/// importable.
pub fn ensure(args: &Args) -> anyhow::Result<TorchEnv> {
    let venv = match &args.venv {
        Some(v) => v.clone(),
        None => {
            default_venv(std::env::var("IRONFORGE_TORCH_VENV").ok().as_deref(), std::env::var("HOME").ok().as_deref())?
        }
    };
    let venv = if venv.is_absolute() { venv } else { std::env::current_dir()?.join(venv) };
    let python = venv.join("bin/python");
    if python.exists() {
        eprintln!("setup-torch: reusing the venv {}", venv.display());
    } else {
        eprintln!("setup-torch: creating the venv {}", venv.display());
        if let Some(parent) = venv.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        run_checked(Command::new(&args.python).arg("-m").arg("venv").arg(&venv), "python -m venv")?;
    }
    let installed = python_output(&python, "import torch; print(torch.__version__)")?;
    match installed {
        Some(v) if version_matches(&v, &args.torch_version) => {
            eprintln!("setup-torch: torch {v} already installed")
        }
        other => {
            eprintln!("setup-torch: installing torch=={} (found: {:?})", args.torch_version, other);
            run_checked(
                Command::new(&python).args(["-m", "pip", "install", &format!("torch=={}", args.torch_version)]),
                "pip install torch",
            )?;
        }
    }
    let lib = python_output(&python, "import os, torch; print(os.path.join(os.path.dirname(torch.__file__), 'lib'))")?
        .context("torch does not import in the venv after installing it")?;
    let lib = PathBuf::from(lib);
    if !lib.is_dir() {
        bail!("torch's library folder {} does not exist", lib.display());
    }
    Ok(TorchEnv { venv, lib })
}

/// Runs this task.
pub fn run(args: Args) -> anyhow::Result<()> {
    let env = ensure(&args)?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().context("xtask has a parent folder")?;
    let env_file = if args.env_file.is_absolute() { args.env_file.clone() } else { root.join(&args.env_file) };
    if let Some(parent) = env_file.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let text = env_file_contents(&env.venv, &env.lib);
    crate::atomic::write_atomic(&env_file, text.as_bytes())?;
    print!("{text}");
    eprintln!(
        "setup-torch: wrote {}; run `source {}` before `cargo test --features torch`",
        env_file.display(),
        env_file.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_venv_prefers_the_override_then_home() {
        assert_eq!(default_venv(Some("/x/v"), Some("/home/a")).unwrap(), PathBuf::from("/x/v"));
        assert_eq!(
            default_venv(Some(""), Some("/home/a")).unwrap(),
            PathBuf::from("/home/a/.cache/ironforge/torch-venv")
        );
        assert!(default_venv(None, None).unwrap_err().to_string().contains("--venv"));
    }

    #[test]
    fn env_vars_prefix_path_and_library_path() {
        let env = TorchEnv { venv: PathBuf::from("/v"), lib: PathBuf::from("/v/lib/torch/lib") };
        let vars: std::collections::BTreeMap<_, _> = env.vars(Some("/usr/bin"), None).into_iter().collect();
        assert_eq!(vars["PATH"], "/v/bin:/usr/bin");
        assert_eq!(vars["LD_LIBRARY_PATH"], "/v/lib/torch/lib");
        assert_eq!(vars["LIBTORCH_USE_PYTORCH"], "1");
        let vars: std::collections::BTreeMap<_, _> = env.vars(None, Some("/a:/b")).into_iter().collect();
        assert_eq!(vars["PATH"], "/v/bin");
        assert_eq!(vars["LD_LIBRARY_PATH"], "/v/lib/torch/lib:/a:/b");
    }

    #[test]
    fn version_matching_accepts_local_tags_only() {
        assert!(version_matches("2.13.0", "2.13.0"));
        assert!(version_matches("2.13.0+cu128\n", "2.13.0"));
        assert!(!version_matches("2.13.01", "2.13.0"));
        assert!(!version_matches("2.12.1", "2.13.0"));
    }

    #[test]
    fn env_file_exports_what_torch_sys_and_the_loader_need() {
        let text = env_file_contents(Path::new("/v/it's"), Path::new("/v/lib/torch/lib"));
        assert!(text.contains("export LIBTORCH_USE_PYTORCH=1\n"));
        assert!(text.contains(r"export PATH='/v/it'\''s/bin':"));
        assert!(text.contains("export LD_LIBRARY_PATH='/v/lib/torch/lib'\"${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}\"\n"));
    }

    #[test]
    fn env_file_is_valid_shell() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("env.sh");
        std::fs::write(&file, env_file_contents(Path::new("/v/a b"), Path::new("/t/lib"))).unwrap();
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "LD_LIBRARY_PATH=/old; source {}; printf '%s|%s' \"$LD_LIBRARY_PATH\" \"${{PATH%%:*}}\"",
                file.display()
            ))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "/t/lib:/old|/v/a b/bin");
    }
}
