//! Running the built `secondstory` binary against scratch databases on both backends.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Db {
    pub url: String,
    pub name: &'static str,
    pub dir: tempfile::TempDir,
}

impl Db {
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_in(self.dir.path(), args)
    }

    pub fn run_in(&self, cwd: &Path, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_secondstory"))
            .args(args)
            .current_dir(cwd)
            .env("SECONDSTORY_DATABASE_URL", &self.url)
            .env("SECONDSTORY_AUTHOR", "tester")
            .env_remove("SECONDSTORY_CONFIG")
            .env_remove("EDITOR")
            .env_remove("VISUAL")
            .output()
            .expect("run secondstory")
    }

    /// Runs and asserts success, returning stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "[{}] secondstory {args:?} failed ({:?}):\nstdout: {}\nstderr: {}",
            self.name,
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs and asserts exit code `code`, returning stderr.
    pub fn fails(&self, code: i32, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "[{}] secondstory {args:?}: expected exit {code}\nstdout: {}\nstderr: {}",
            self.name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Everything the database holds, as text: every incident exported as JSON plus its review
    /// history. Equal snapshots mean nothing was written.
    pub fn snapshot(&self) -> String {
        let out = tempfile::tempdir().expect("temp dir");
        let out_path = out.path().to_str().expect("utf-8 path");
        self.ok(&["export", "--format", "json", "--out", out_path]);
        let mut files: Vec<PathBuf> = std::fs::read_dir(out.path())
            .expect("read export")
            .map(|e| e.expect("entry").path())
            .collect();
        files.sort();
        let mut text = String::new();
        for file in files {
            text.push_str(&std::fs::read_to_string(&file).expect("read"));
            let id = file
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("id")
                .to_owned();
            text.push_str(&self.ok(&["review", "history", &id, "--json"]));
        }
        text
    }
}

fn sqlite() -> Db {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("test.db").display());
    Db {
        url,
        name: "sqlite",
        dir,
    }
}

fn postgres() -> Option<Db> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let base = secondstory_store_sql::testing::postgres_base_url().await?;
        let url = secondstory_store_sql::testing::scratch_postgres_url(&base).await;
        Some(Db {
            url,
            name: "postgres",
            dir: tempfile::tempdir().expect("temp dir"),
        })
    })
}

/// A fresh database on each backend that is available (PostgreSQL is required when CI=true).
pub fn databases() -> Vec<Db> {
    let mut dbs = vec![sqlite()];
    dbs.extend(postgres());
    dbs
}

pub fn write(db: &Db, name: &str, text: &str) -> PathBuf {
    let path = db.path(name);
    std::fs::write(&path, text).expect("write file");
    path
}
