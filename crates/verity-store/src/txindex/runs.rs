//! The hash index on disk: immutable sorted runs of fixed-size records, one file each.
//!
//! A run covers a contiguous range of log indexes `[start, end)` and holds one 16-byte
//! record per transaction in it (the 8-byte hash prefix, then the log index, big-endian:
//! [`tx_index_key`](crate::keys::tx_index_key)), sorted. The index thread writes each
//! batch of committed blocks as a new run in one sequential write, and merges the newest
//! runs whenever one is not at least [`MERGE_RATIO`] times the size of the next, so a
//! log of `n` transactions is held in about `log2(n / batch)` runs and each record is
//! rewritten about as many times, always sequentially. (A B-tree keyed by random hashes
//! dirties a page per key: at 30,000 transactions a second the redb index wrote and
//! fsync'd tens of megabytes a second, and its commits slowed the ledger's fsync.)
//!
//! A lookup reads one block of [`BLOCK_RECORDS`] records per run, found through the
//! first record of each block, which is kept in memory (1/256 of the file).
//!
//! File `{start:020}-{end:020}.run`: a 32-byte header (magic, start, end, record count,
//! the integers little-endian), the records, and the SHA-256 of everything before it.
//! A file is written under a `.tmp` name, fsync'd, and renamed; opening checks each
//! run (size, header, order, checksum) and drops what is damaged, left over from a merge,
//! or not contiguous from log index 0, so the caller re-indexes the rest from the log.

use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;
use sha2::{Digest, Sha256};

use crate::error::StoreError;

/// One index entry: hash prefix (8 bytes), log index (u64 big-endian).
pub(crate) type Record = [u8; 16];
const RECORD: usize = 16;
const HEADER: usize = 32;
const TRAILER: usize = 32;
const MAGIC: &[u8; 8] = b"VTXRUN01";
/// Records per block: a lookup reads one block (4 KiB) from each run.
const BLOCK_RECORDS: usize = 256;
/// A run is merged with the ones after it unless it holds at least this many times
/// their records.
const MERGE_RATIO: u64 = 2;
/// Buffer of sequential reads and writes.
const IO_BUFFER: usize = 1 << 20;

/// The log index of a record (its last 8 bytes).
fn log_index(record: &[u8]) -> u64 {
    u64::from_be_bytes(record.get(8..16).and_then(|b| b.try_into().ok()).unwrap_or([0; 8]))
}

fn file_name(start: u64, end: u64) -> String {
    format!("{start:020}-{end:020}.run")
}

fn parse_name(name: &str) -> Option<(u64, u64)> {
    let (start, end) = name.strip_suffix(".run")?.split_once('-')?;
    Some((start.parse().ok()?, end.parse().ok()?))
}

fn header(start: u64, end: u64, count: u64) -> [u8; HEADER] {
    let mut h = [0u8; HEADER];
    h[..8].copy_from_slice(MAGIC);
    h[8..16].copy_from_slice(&start.to_le_bytes());
    h[16..24].copy_from_slice(&end.to_le_bytes());
    h[24..].copy_from_slice(&count.to_le_bytes());
    h
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)?.sync_all()?;
    Ok(())
}

/// One run file, open for lookups.
pub(crate) struct Run {
    start: u64,
    end: u64,
    count: u64,
    path: PathBuf,
    file: File,
    /// The first record of each block.
    fences: Vec<Record>,
}

impl Run {
    /// Log indexes of the records whose hash prefix is `prefix`, appended to `out`.
    fn find(&self, prefix: &[u8], out: &mut Vec<u64>) -> Result<(), StoreError> {
        // The last block starting before the prefix may hold its first records.
        let first_block = self.fences.partition_point(|f| &f[..8] < prefix).saturating_sub(1);
        let mut buf = [0u8; BLOCK_RECORDS * RECORD];
        for block in first_block..self.fences.len() {
            let from = (block * BLOCK_RECORDS) as u64;
            let n = (self.count - from).min(BLOCK_RECORDS as u64) as usize;
            let bytes = &mut buf[..n * RECORD];
            self.file.read_exact_at(bytes, HEADER as u64 + from * RECORD as u64)?;
            for record in bytes.chunks_exact(RECORD) {
                match record[..8].cmp(prefix) {
                    std::cmp::Ordering::Less => {}
                    std::cmp::Ordering::Equal => out.push(log_index(record)),
                    std::cmp::Ordering::Greater => return Ok(()),
                }
            }
        }
        Ok(())
    }

    /// Reads and checks a run file; `None` if it is not a whole, valid run of the range
    /// its name gives.
    fn open(path: &Path, start: u64, end: u64) -> Result<Option<Run>, StoreError> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        let mut reader = BufReader::with_capacity(IO_BUFFER, file.try_clone()?);
        let mut head = [0u8; HEADER];
        if len < (HEADER + TRAILER) as u64 || reader.read_exact(&mut head).is_err() {
            return Ok(None);
        }
        let count = u64::from_le_bytes(head[24..].try_into().unwrap_or([0xff; 8]));
        // One record per log index of the range.
        if head != header(start, end, count)
            || Some(count) != end.checked_sub(start)
            || Some(len) != count.checked_mul(RECORD as u64).and_then(|n| n.checked_add((HEADER + TRAILER) as u64))
        {
            return Ok(None);
        }
        let mut check = Check::new(start, end, count);
        for _ in 0..count {
            let mut record = [0u8; RECORD];
            reader.read_exact(&mut record)?;
            if !check.push(record) {
                return Ok(None);
            }
        }
        let mut trailer = [0u8; TRAILER];
        reader.read_exact(&mut trailer)?;
        let (digest, fences) = check.finish();
        if trailer != digest {
            return Ok(None);
        }
        Ok(Some(Run { start, end, count, path: path.to_path_buf(), file, fences }))
    }

    /// The records in order, read sequentially.
    fn records(&self) -> Result<impl Iterator<Item = Result<Record, StoreError>>, StoreError> {
        let mut reader = BufReader::with_capacity(IO_BUFFER, File::open(&self.path)?);
        let mut head = [0u8; HEADER];
        reader.read_exact(&mut head)?;
        Ok((0..self.count).map(move |_| {
            let mut record = [0u8; RECORD];
            reader.read_exact(&mut record)?;
            Ok(record)
        }))
    }
}

/// What a run's records must be, checked one by one as they are written or read: in
/// order, distinct, in the run's range; and the run's checksum and fences.
struct Check {
    start: u64,
    end: u64,
    hasher: Sha256,
    seen: u64,
    previous: Option<Record>,
    fences: Vec<Record>,
}

impl Check {
    fn new(start: u64, end: u64, count: u64) -> Check {
        let mut hasher = Sha256::new();
        hasher.update(header(start, end, count));
        let fences = Vec::with_capacity((count as usize).div_ceil(BLOCK_RECORDS));
        Check { start, end, hasher, seen: 0, previous: None, fences }
    }

    /// Takes the next record; false if it is out of order or range.
    fn push(&mut self, record: Record) -> bool {
        let index = log_index(&record);
        if self.previous.is_some_and(|p| p >= record) || index < self.start || index >= self.end {
            return false;
        }
        if self.seen.is_multiple_of(BLOCK_RECORDS as u64) {
            self.fences.push(record);
        }
        self.hasher.update(record);
        self.seen += 1;
        self.previous = Some(record);
        true
    }

    /// The checksum (the trailer) and the fences.
    fn finish(self) -> ([u8; TRAILER], Vec<Record>) {
        (self.hasher.finalize().into(), self.fences)
    }
}

/// Writes a run: records go to `NAME.tmp`, which becomes the run once complete and
/// durable.
struct RunWriter {
    dir: PathBuf,
    start: u64,
    end: u64,
    count: u64,
    tmp: PathBuf,
    out: BufWriter<File>,
    check: Check,
}

impl RunWriter {
    fn create(dir: &Path, start: u64, end: u64, count: u64) -> Result<RunWriter, StoreError> {
        let tmp = dir.join(format!("{}.tmp", file_name(start, end)));
        // Readable too: the finished run answers lookups through this handle.
        let file = fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&tmp)?;
        let mut out = BufWriter::with_capacity(IO_BUFFER, file);
        out.write_all(&header(start, end, count))?;
        let check = Check::new(start, end, count);
        Ok(RunWriter { dir: dir.to_path_buf(), start, end, count, tmp, out, check })
    }

    fn push(&mut self, record: Record) -> Result<(), StoreError> {
        if !self.check.push(record) {
            let index = log_index(&record);
            return Err(StoreError::Index(format!("run record for log index {index} out of order or range")));
        }
        self.out.write_all(&record)?;
        Ok(())
    }

    /// Completes the file, makes it durable and gives it its name.
    fn finish(mut self) -> Result<Run, StoreError> {
        if self.check.seen != self.count {
            return Err(StoreError::Index(format!("run has {} records, expected {}", self.check.seen, self.count)));
        }
        let (digest, fences) = self.check.finish();
        self.out.write_all(&digest)?;
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        let path = self.dir.join(file_name(self.start, self.end));
        fs::rename(&self.tmp, &path)?;
        sync_dir(&self.dir)?;
        Ok(Run { start: self.start, end: self.end, count: self.count, path, file, fences })
    }
}

/// The runs of the index, contiguous from log index 0, oldest first.
pub(crate) struct Runs {
    dir: PathBuf,
    /// Replaced whole by the index thread (which alone writes); lookups take a snapshot.
    list: RwLock<Arc<Vec<Arc<Run>>>>,
}

impl Runs {
    /// Opens the runs in `dir` (creating it), dropping every file that is damaged, a
    /// leftover of a merge, or beyond a gap.
    pub(crate) fn open(dir: &Path) -> Result<Runs, StoreError> {
        fs::create_dir_all(dir)?;
        let mut found = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            let name = entry.file_name();
            match name.to_str().and_then(parse_name) {
                Some((start, end)) => match Run::open(&path, start, end)? {
                    Some(run) => found.push(run),
                    None => {
                        tracing::warn!(path = %path.display(), "dropping a damaged index run; the log will be re-indexed");
                        fs::remove_file(&path)?;
                    }
                },
                // An unfinished write.
                None if path.extension().is_some_and(|e| e == "tmp") => fs::remove_file(&path)?,
                None => tracing::warn!(path = %path.display(), "ignoring a file that is not an index run"),
            }
        }
        // Widest first among runs that start together: a merge's output before its
        // inputs, which it contains.
        found.sort_by_key(|r| (r.start, std::cmp::Reverse(r.end)));
        let mut list: Vec<Arc<Run>> = Vec::new();
        let mut end = 0;
        for run in found {
            if run.start == end && run.end > end {
                end = run.end;
                list.push(Arc::new(run));
            } else {
                // Inside a kept run (a merge's inputs), or past a gap.
                fs::remove_file(&run.path)?;
            }
        }
        sync_dir(dir)?;
        Ok(Runs { dir: dir.to_path_buf(), list: RwLock::new(Arc::new(list)) })
    }

    /// Log size the runs cover.
    pub(crate) fn indexed(&self) -> u64 {
        self.list.read().last().map_or(0, |r| r.end)
    }

    /// Log indexes of the records with hash prefix `prefix`, in every run.
    pub(crate) fn find(&self, prefix: &[u8]) -> Result<Vec<u64>, StoreError> {
        let list = self.list.read().clone();
        let mut out = Vec::new();
        for run in list.iter().rev() {
            run.find(prefix, &mut out)?;
        }
        Ok(out)
    }

    /// Number of runs (tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.list.read().len()
    }

    /// Drops every run.
    pub(crate) fn clear(&self) -> Result<(), StoreError> {
        let old = std::mem::take(&mut *self.list.write());
        for run in old.iter() {
            fs::remove_file(&run.path)?;
        }
        sync_dir(&self.dir)
    }

    /// Adds `records` (any order, one per log index) as the run of log indexes
    /// `[start, end)`, which must begin where the index ends. The caller then calls
    /// [`Runs::merge`].
    pub(crate) fn add(&self, start: u64, end: u64, mut records: Vec<Record>) -> Result<(), StoreError> {
        let indexed = self.indexed();
        if start != indexed || end < start {
            return Err(StoreError::Index(format!("run {start}..{end} does not continue the index at {indexed}")));
        }
        if records.len() as u64 != end - start {
            return Err(StoreError::Index(format!("run {start}..{end} has {} records", records.len())));
        }
        if end == start {
            return Ok(());
        }
        records.sort_unstable();
        let mut writer = RunWriter::create(&self.dir, start, end, records.len() as u64)?;
        for record in records {
            writer.push(record)?;
        }
        let run = Arc::new(writer.finish()?);
        let mut list = Vec::clone(&self.list.read());
        list.push(run);
        *self.list.write() = Arc::new(list);
        Ok(())
    }

    /// Merges the newest runs into one, taking in older runs while the next older one
    /// holds less than [`MERGE_RATIO`] times the records taken so far: afterwards each
    /// run holds at least that many times the next one, so `n` records are in at most
    /// about `log2(n)` runs (a binary counter, each record rewritten about that often).
    pub(crate) fn merge(&self) -> Result<(), StoreError> {
        let list = self.list.read().clone();
        let mut from = list.len();
        let mut tail = 0;
        while from > 0 && (from == list.len() || list[from - 1].count < MERGE_RATIO * tail) {
            from -= 1;
            tail += list[from].count;
        }
        // `from` is the oldest run of the tail to merge; merging one run changes nothing.
        if list.len() - from < 2 {
            return Ok(());
        }
        let inputs = &list[from..];
        let (start, end) = (inputs[0].start, inputs[inputs.len() - 1].end);
        let started = std::time::Instant::now();
        let mut writer = RunWriter::create(&self.dir, start, end, tail)?;
        let mut sources = Vec::with_capacity(inputs.len());
        for run in inputs {
            sources.push(run.records()?.peekable());
        }
        loop {
            // Few runs: the smallest head by a linear scan.
            let mut best: Option<(usize, Record)> = None;
            for (i, s) in sources.iter_mut().enumerate() {
                match s.peek() {
                    Some(Ok(r)) if best.is_none_or(|(_, b)| *r < b) => best = Some((i, *r)),
                    Some(Err(_)) => {
                        return Err(s.next().and_then(Result::err).unwrap_or_else(|| StoreError::corrupt("run")))
                    }
                    _ => {}
                }
            }
            let Some((i, record)) = best else { break };
            sources[i].next();
            writer.push(record)?;
        }
        let merged = Arc::new(writer.finish()?);
        let mut next: Vec<Arc<Run>> = list[..from].to_vec();
        next.push(merged);
        *self.list.write() = Arc::new(next);
        // Lookups holding an old snapshot keep reading the removed files through their
        // open handles.
        for run in inputs {
            fs::remove_file(&run.path)?;
        }
        sync_dir(&self.dir)?;
        tracing::debug!(
            runs = inputs.len(),
            records = tail,
            ms = started.elapsed().as_secs_f64() * 1e3,
            "tx index runs merged"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::tx_index_key;
    use verity_types::sha256;

    fn records(from: u64, to: u64) -> Vec<Record> {
        (from..to).map(|i| tx_index_key(&sha256(&i.to_le_bytes()).0, i)).collect()
    }

    fn assert_finds_all(runs: &Runs, to: u64) {
        for r in records(0, to) {
            assert_eq!(runs.find(&r[..8]).expect("find"), vec![log_index(&r)]);
        }
        assert!(runs.find(&sha256(b"absent").0[..8]).expect("find").is_empty());
    }

    #[test]
    fn runs_find_every_record_and_merge_into_few_runs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let runs = Runs::open(dir.path()).expect("open");
        let mut end = 0;
        for n in [700u64, 300, 300, 1, 999, 5000, 17, 256] {
            runs.add(end, end + n, records(end, end + n)).expect("add");
            runs.merge().expect("merge");
            end += n;
            // Every run holds at least twice the records of the run after it.
            let list = runs.list.read().clone();
            let counts: Vec<u64> = list.iter().map(|r| r.count).collect();
            assert!(counts.windows(2).all(|w| w[0] >= MERGE_RATIO * w[1]), "{counts:?}");
        }
        assert!(runs.len() <= 4, "{} runs", runs.len());
        assert_eq!(runs.indexed(), end);
        assert_finds_all(&runs, end);
        // Reopened, the same.
        drop(runs);
        let runs = Runs::open(dir.path()).expect("reopen");
        assert_eq!(runs.indexed(), end);
        assert_finds_all(&runs, end);
    }

    #[test]
    fn records_with_one_prefix_across_a_block_boundary_are_all_found() {
        let dir = tempfile::tempdir().expect("tempdir");
        let runs = Runs::open(dir.path()).expect("open");
        let prefix = [7u8; 32];
        // 600 records of one prefix: they span three blocks, after 100 smaller ones.
        let mut recs: Vec<Record> = (0..100).map(|i| tx_index_key(&[0u8; 32], i)).collect();
        recs.extend((100..700).map(|i| tx_index_key(&prefix, i)));
        runs.add(0, 700, recs).expect("add");
        assert_eq!(runs.find(&prefix[..8]).expect("find"), (100..700).collect::<Vec<u64>>());
        assert_eq!(runs.find(&[0u8; 8]).expect("find").len(), 100);
        assert!(runs.find(&[3u8; 8]).expect("find").is_empty());
    }

    #[test]
    fn a_run_must_continue_the_index_and_hold_sorted_distinct_records_of_its_range() {
        let dir = tempfile::tempdir().expect("tempdir");
        let runs = Runs::open(dir.path()).expect("open");
        assert!(matches!(runs.add(5, 10, records(5, 10)), Err(StoreError::Index(_))));
        assert!(matches!(runs.add(0, 10, records(0, 11)), Err(StoreError::Index(_))));
        assert!(matches!(runs.add(0, 10, records(0, 9)), Err(StoreError::Index(_))));
        let mut twice = records(0, 9);
        twice.push(twice[0]);
        assert!(matches!(runs.add(0, 10, twice), Err(StoreError::Index(_))));
        let mut outside = records(0, 9);
        outside.extend(records(10, 11));
        assert!(matches!(runs.add(0, 10, outside), Err(StoreError::Index(_))));
        assert_eq!(runs.indexed(), 0);
        runs.add(0, 10, records(0, 10)).expect("add");
        assert_eq!(runs.indexed(), 10);
    }

    #[test]
    fn opening_drops_damaged_runs_merge_leftovers_and_runs_past_a_gap() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let runs = Runs::open(dir.path()).expect("open");
            runs.add(0, 1000, records(0, 1000)).expect("add");
            runs.add(1000, 1200, records(1000, 1200)).expect("add");
            assert_eq!(runs.len(), 2);
        }
        // A merge that wrote its inputs' union but died before removing them: the union
        // wins; an unfinished write is removed.
        {
            let scratch = tempfile::tempdir().expect("tempdir");
            let other = Runs::open(scratch.path()).expect("open");
            other.add(0, 1200, records(0, 1200)).expect("add");
            fs::copy(scratch.path().join(file_name(0, 1200)), dir.path().join(file_name(0, 1200))).expect("copy");
        }
        fs::write(dir.path().join(format!("{}.tmp", file_name(1200, 1300))), b"partial").expect("tmp");
        // Not the index's: left alone.
        fs::write(dir.path().join("notes.txt"), b"an operator's file").expect("notes");
        let runs = Runs::open(dir.path()).expect("reopen");
        assert_eq!((runs.len(), runs.indexed()), (1, 1200));
        assert_finds_all(&runs, 1200);
        assert_eq!(fs::read_dir(dir.path()).expect("ls").count(), 2);
        runs.add(1200, 1300, records(1200, 1300)).expect("add");
        runs.add(1300, 1310, records(1300, 1310)).expect("add");
        assert_eq!(runs.len(), 3);
        drop(runs);

        // A flipped byte in the middle run: it goes, and so does the run after the gap.
        let middle = dir.path().join(file_name(1200, 1300));
        let mut bytes = fs::read(&middle).expect("read");
        bytes[HEADER + 5] ^= 1;
        fs::write(&middle, bytes).expect("write");
        let runs = Runs::open(dir.path()).expect("reopen");
        assert_eq!((runs.len(), runs.indexed()), (1, 1200));
        assert_eq!(fs::read_dir(dir.path()).expect("ls").count(), 2);
        runs.clear().expect("clear");
        assert_eq!(runs.indexed(), 0);
        assert_eq!(fs::read_dir(dir.path()).expect("ls").count(), 1);
    }
}
