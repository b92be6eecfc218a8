//! Reads every day file of an unpacked Slack export with the fast reader and with `serde_json`
//! alone and panics on the first disagreement: a check of the fast path on real exports.
//!
//! Usage: `cargo run --release -p secondstory-import --example check_readers -- <export dir>`

fn main() {
    let root = std::env::args()
        .nth(1)
        .expect("usage: check_readers <export directory>");
    let users = std::fs::read(format!("{root}/users.json")).expect("users.json");
    let mut files = 0;
    for channel in std::fs::read_dir(&root).expect("the export directory") {
        let channel = channel.expect("a directory entry").path();
        if !channel.is_dir() {
            continue;
        }
        for day in std::fs::read_dir(&channel).expect("a channel directory") {
            let bytes = std::fs::read(day.expect("a directory entry").path()).expect("a day file");
            secondstory_import::check_day_file_readers_agree(&bytes, Some(&users));
            files += 1;
        }
    }
    println!("{files} day files: the fast reader and serde agree");
}
