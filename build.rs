//! Writes the man pages from the clap definition, so they never drift from `--help`.

use std::path::{Path, PathBuf};

#[allow(dead_code)]
#[path = "src/cli.rs"]
mod cli;

fn render(cmd: &clap::Command, name: &str, dirs: &[PathBuf]) -> std::io::Result<()> {
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone().name(name.to_owned())).render(&mut page)?;
    for dir in dirs {
        let path = dir.join(format!("{name}.1"));
        // Rewrite only on change, so the build does not loop on its own output.
        if std::fs::read(&path).ok().as_deref() != Some(page.as_slice()) {
            std::fs::create_dir_all(dir)?;
            std::fs::write(&path, &page)?;
        }
    }
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        render(sub, &format!("{name}-{}", sub.get_name()), dirs)?;
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    println!("cargo:rerun-if-changed=src/cli.rs");
    println!("cargo:rerun-if-changed=src/script_reference.txt");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    let mut cmd = <cli::Cli as clap::CommandFactory>::command();
    cmd.build();
    render(&cmd, "tobira", &[out, Path::new("man").to_path_buf()])
}
