//! The multi-session layout: many sessions in one Parquet file, written and read as streams.
//!
//! One row per record (see [`super::schema::multi_schema`]): a session's rows are contiguous,
//! its events (in local-index order) then its edges (in their order). Row groups hold
//! [`WriterSettings::row_group_rows`] rows and may split a session. The reader decodes one batch
//! of at most 8,192 rows at a time and yields each session as soon as its last row is seen, so
//! memory stays at one row group being decoded plus one session, whatever the file size.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{ArrayRef, RecordBatch};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ArrowWriter;

use super::checksum::{close_sealed, verify, Crc32Writer};
use super::columns::{check_unique_columns, feature_width, BatchColumns};
use super::files::READ_BATCH_ROWS;
use super::guard::guarded;
use super::rows::{
    check_dangling, check_unique_node_ids, edge_feature_names, node_feature_names, EdgeColumns, EventColumns,
    RowBuilders,
};
use super::schema::{
    multi_schema, ACCEPTED_EDGE_FEATURES, ACCEPTED_NODE_FEATURES, MULTI_STRING_COLUMNS, RECORD_EDGE, RECORD_EVENT,
};
use super::{IoError, WriterSettings};
use crate::atomic::AtomicFile;
use crate::session::{Edge, Event, ExtraFeatures, Session, SessionMeta};

/// Streams sessions into one multi-session Parquet file, whole or not at all: the rows go to a
/// temporary file beside the target ([`AtomicFile`]) that [`finish`](Self::finish) renames over
/// it. Dropped without `finish` (an error, an interrupt), it leaves no file and an earlier file
/// at the target as it was.
///
/// ```
/// use ironforge::io::{MultiSessionReader, MultiSessionWriter, WriterSettings};
/// use ironforge::synth::{generate, SessionSpec};
/// let path = std::env::temp_dir().join(format!("ironforge_doc_multi_{}.parquet", std::process::id()));
/// let sessions: Vec<_> = (0..3).map(|i| generate(&SessionSpec::new(format!("s{i}"), i, 50))).collect();
/// let mut writer = MultiSessionWriter::create(&path, &WriterSettings::default())?;
/// for s in &sessions {
///     writer.write(s)?;
/// }
/// assert_eq!(writer.finish()?, 3);
/// let back = MultiSessionReader::open(&path)?.collect::<Result<Vec<_>, _>>()?;
/// assert_eq!(back, sessions);
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), ironforge::io::IoError>(())
/// ```
pub struct MultiSessionWriter {
    path: PathBuf,
    writer: ArrowWriter<Crc32Writer<AtomicFile>>,
    seen: HashSet<String>,
}

impl MultiSessionWriter {
    /// Starts a file that will replace `path` when [`finish`](Self::finish)ed; until then
    /// nothing under `path` changes.
    pub fn create(path: &Path, settings: &WriterSettings) -> Result<Self, IoError> {
        let props = settings.properties(&MULTI_STRING_COLUMNS)?;
        let file = Crc32Writer::new(AtomicFile::create(path).map_err(|e| IoError::write(path, e))?);
        let writer =
            ArrowWriter::try_new(file, multi_schema(), Some(props)).map_err(|e| IoError::parquet_write(path, e))?;
        Ok(Self { path: path.to_path_buf(), writer, seen: HashSet::new() })
    }

    /// Appends one session. A session id already written is refused, and so is a session
    /// carrying extra node features (a 51- or 53-wide variant): the layout holds the 45 base
    /// features ([`IoError::FeatureVariant`]; the shard layout keeps them).
    pub fn write(&mut self, session: &Session) -> Result<(), IoError> {
        if session.extra_features().is_some() {
            return Err(IoError::FeatureVariant {
                path: self.path.clone(),
                session_id: session.id().to_string(),
                width: session.node_feature_width(),
            });
        }
        if !self.seen.insert(session.id().to_string()) {
            return Err(IoError::DuplicateSession { path: self.path.clone(), session_id: session.id().to_string() });
        }
        let rows = session.len() + session.edges().len();
        let meta = session.meta();
        let mut b = RowBuilders::new();
        let mut record = arrow_array::builder::UInt8Builder::with_capacity(rows);
        for ev in session.events() {
            b.push_event(ev, true);
            record.append_value(RECORD_EVENT);
        }
        for edge in session.edges() {
            b.push_edge(edge, true);
            record.append_value(RECORD_EDGE);
        }
        let repeat = |s: &str| -> ArrayRef {
            let mut sb = StringBuilder::with_capacity(rows, rows * s.len());
            (0..rows).for_each(|_| sb.append_value(s));
            Arc::new(sb.finish())
        };
        let mut columns: Vec<ArrayRef> = vec![
            repeat(&meta.session_id),
            repeat(&meta.session_type),
            repeat(&meta.symbol),
            repeat(&meta.timeframe),
            Arc::new(record.finish()),
            Arc::new(b.node_id.finish()),
            Arc::new(b.dst.finish()),
            Arc::new(b.t.finish()),
            Arc::new(b.kind.finish()),
            Arc::new(b.price.finish()),
            Arc::new(b.etype.finish()),
            Arc::new(b.dt.finish()),
        ];
        columns.extend(b.finish_f());
        columns.extend(b.finish_e());
        let batch = RecordBatch::try_new(multi_schema(), columns).map_err(|e| IoError::arrow(&self.path, e))?;
        self.writer.write(&batch).map_err(|e| IoError::parquet_write(&self.path, e))
    }

    /// Flushes the last row group and the footer, syncs the file and renames it over the
    /// target; returns the number of sessions written.
    pub fn finish(self) -> Result<usize, IoError> {
        let path = self.path;
        let file = close_sealed(self.writer).map_err(|e| IoError::parquet_write(&path, e))?;
        file.commit().map_err(|e| IoError::write(&path, e))?;
        Ok(self.seen.len())
    }
}

/// Writes `sessions` as one multi-session file; returns how many were written.
pub fn write_multi<'a>(
    path: &Path,
    sessions: impl IntoIterator<Item = &'a Session>,
    settings: &WriterSettings,
) -> Result<usize, IoError> {
    let mut writer = MultiSessionWriter::create(path, settings)?;
    for s in sessions {
        writer.write(s)?;
    }
    writer.finish()
}

/// Rows of one session found in one batch (or, merged, in several).
struct Run {
    meta: SessionMeta,
    events: Vec<Event>,
    event_rows: Vec<usize>,
    /// Extra node features of the events, row-major (empty for the base feature set).
    extra: Vec<f32>,
    edges: Vec<Edge>,
    edge_rows: Vec<usize>,
    first_row: usize,
}

/// Iterator over the sessions of a multi-session file, read one batch at a time.
///
/// Yields `Err` once (then ends) at the first malformed row, naming file, column and row. A
/// file without any session is an error too ([`IoError::NotSessions`]). A file with 51 or 53
/// node feature columns (written by another tool) gives sessions carrying the extra ones.
pub struct MultiSessionReader {
    path: PathBuf,
    batches: ParquetRecordBatchReader,
    runs: VecDeque<Run>,
    current: Option<Run>,
    /// Session ids finished so far, with the first row of each.
    seen: HashMap<String, usize>,
    next_row: usize,
    done: bool,
    /// Nothing more to yield (after an error, or after the last session).
    ended: bool,
    f_names: Vec<String>,
    e_names: Vec<String>,
}

impl MultiSessionReader {
    /// Opens the file and checks its footer and schema (distinct column names, feature widths).
    pub fn open(path: &Path) -> Result<Self, IoError> {
        let file = File::open(path).map_err(|e| IoError::os(path, e))?;
        let (batches, f_width) = guarded(path, || {
            let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| IoError::parquet(path, e))?;
            verify(path, builder.metadata().file_metadata().key_value_metadata())?;
            check_unique_columns(path, builder.schema())?;
            let f_width = feature_width(path, builder.schema(), 'f', ACCEPTED_NODE_FEATURES)?;
            feature_width(path, builder.schema(), 'e', ACCEPTED_EDGE_FEATURES)?;
            let batches = builder.with_batch_size(READ_BATCH_ROWS).build().map_err(|e| IoError::parquet(path, e))?;
            Ok((batches, f_width))
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            batches,
            runs: VecDeque::new(),
            current: None,
            seen: HashMap::new(),
            next_row: 0,
            done: false,
            ended: false,
            f_names: node_feature_names(f_width),
            e_names: edge_feature_names(),
        })
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn decode(&self, batch: &RecordBatch) -> Result<VecDeque<Run>, IoError> {
        let cols = BatchColumns { batch, path: &self.path, first_row: self.next_row };
        let session_id = cols.str("session_id")?;
        let session_type = cols.str("session_type")?;
        let symbol = cols.str("symbol")?;
        let tf = cols.str("tf")?;
        let record = cols.u8("record")?;
        let events = EventColumns::new(&cols, &self.f_names)?;
        let edges = EdgeColumns::new(&cols, "node_id", &self.e_names)?;
        let mut runs: VecDeque<Run> = VecDeque::new();
        for i in 0..batch.num_rows() {
            let id = session_id.get(i)?;
            let same = runs.back().is_some_and(|r| r.meta.session_id == id);
            if !same {
                let meta = SessionMeta::new(id, session_type.get(i)?, symbol.get(i)?, tf.get(i)?);
                runs.push_back(Run {
                    meta,
                    events: Vec::new(),
                    event_rows: Vec::new(),
                    extra: Vec::new(),
                    edges: Vec::new(),
                    edge_rows: Vec::new(),
                    first_row: cols.first_row + i,
                });
            }
            let run = runs.back_mut().expect("a run was pushed above");
            for (col, want) in
                [(&session_type, &run.meta.session_type), (&symbol, &run.meta.symbol), (&tf, &run.meta.timeframe)]
            {
                if !col.equals(i, want) {
                    return Err(IoError::Inconsistent {
                        path: self.path.clone(),
                        column: col.name.to_string(),
                        row: col.row(i),
                        detail: format!("differs from {want:?} on earlier rows of session {id:?}"),
                    });
                }
            }
            match record.get(i)? {
                RECORD_EVENT => {
                    run.events.push(events.event(i, &self.path)?);
                    run.event_rows.push(cols.first_row + i);
                    events.push_extra(i, &mut run.extra)?;
                }
                RECORD_EDGE => {
                    run.edges.push(edges.edge(i, &self.path)?);
                    run.edge_rows.push(cols.first_row + i);
                }
                code => {
                    return Err(IoError::UnknownCode {
                        path: self.path.clone(),
                        column: "record".into(),
                        row: record.row(i),
                        code,
                    })
                }
            }
        }
        Ok(runs)
    }

    fn finish_run(&mut self, run: Run) -> Result<Session, IoError> {
        if let Some(&first_row) = self.seen.get(&run.meta.session_id) {
            return Err(IoError::DuplicateSessionRows {
                path: self.path.clone(),
                session_id: run.meta.session_id,
                first_row,
                row: run.first_row,
            });
        }
        self.seen.insert(run.meta.session_id.clone(), run.first_row);
        check_unique_node_ids(&self.path, &run.events, &run.event_rows)?;
        check_dangling(&self.path, &run.meta.session_id, "node_id", &run.events, &run.edges, &run.edge_rows)?;
        let session_id = run.meta.session_id.clone();
        let extra_width = self.f_names.len() - crate::session::NODE_FEATURES;
        let built = if extra_width == 0 {
            Session::new(run.meta, run.events, run.edges)
        } else {
            ExtraFeatures::new(extra_width, run.extra)
                .and_then(|x| Session::with_extra_features(run.meta, run.events, run.edges, x))
        };
        built.map_err(|source| IoError::Session {
            path: self.path.clone(),
            session_id: format!("{session_id} (from row {})", run.first_row),
            source,
        })
    }

    fn fail(&mut self, e: IoError) -> Option<Result<Session, IoError>> {
        self.done = true;
        self.ended = true;
        self.runs.clear();
        self.current = None;
        Some(Err(e))
    }
}

impl Iterator for MultiSessionReader {
    type Item = Result<Session, IoError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.ended {
            return None;
        }
        loop {
            if let Some(run) = self.runs.pop_front() {
                match &mut self.current {
                    Some(cur) if cur.meta.session_id == run.meta.session_id => {
                        if cur.meta != run.meta {
                            let e = IoError::Inconsistent {
                                path: self.path.clone(),
                                column: "session_type".into(),
                                row: run.first_row,
                                detail: format!(
                                    "metadata of session {:?} changes between batches",
                                    run.meta.session_id
                                ),
                            };
                            return self.fail(e);
                        }
                        cur.events.extend(run.events);
                        cur.event_rows.extend(run.event_rows);
                        cur.extra.extend(run.extra);
                        cur.edges.extend(run.edges);
                        cur.edge_rows.extend(run.edge_rows);
                    }
                    _ => {
                        if let Some(finished) = self.current.replace(run) {
                            let result = self.finish_run(finished);
                            return match result {
                                Ok(s) => Some(Ok(s)),
                                Err(e) => self.fail(e),
                            };
                        }
                    }
                }
                continue;
            }
            if self.done {
                let Some(finished) = self.current.take() else {
                    self.ended = true;
                    if self.seen.is_empty() {
                        return Some(Err(IoError::NotSessions {
                            path: self.path.clone(),
                            detail: format!("holds no sessions ({} rows)", self.next_row),
                        }));
                    }
                    return None;
                };
                let result = self.finish_run(finished);
                return match result {
                    Ok(s) => Some(Ok(s)),
                    Err(e) => self.fail(e),
                };
            }
            let path = self.path.clone();
            let batches = &mut self.batches;
            match guarded(&path, || batches.next().transpose().map_err(|e| IoError::arrow(&path, e))) {
                Ok(None) => self.done = true,
                Err(e) => return self.fail(e),
                Ok(Some(batch)) => match self.decode(&batch) {
                    Ok(runs) => {
                        self.next_row += batch.num_rows();
                        self.runs = runs;
                    }
                    Err(e) => return self.fail(e),
                },
            }
        }
    }
}

/// Reads every session of a multi-session file (collects [`MultiSessionReader`]).
pub fn read_multi(path: &Path) -> Result<Vec<Session>, IoError> {
    MultiSessionReader::open(path)?.collect()
}
