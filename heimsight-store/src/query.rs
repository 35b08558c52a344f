//! What the store traits are asked: log pages, trace searches, metric selections; and the
//! reference semantics of their filters, shared by every backend.

use std::collections::BTreeSet;
use std::sync::Arc;

use heimsight_core::{
    AttributeValue, Exemplar, Labels, Level, LogRecord, MetricKind, MetricPoint, MetricValue, Span,
    SpanId, SpanKind, StatusCode, Temporality, Timestamp, TraceId,
};

use crate::error::{Error, Result};

/// Sort order of time-ordered results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// Newest first (the default).
    #[default]
    NewestFirst,
    /// Oldest first.
    OldestFirst,
}

/// A half-open time range `[start, end)`; either side may be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeRange {
    /// Inclusive start; `None` for the beginning of time.
    pub start: Option<Timestamp>,
    /// Exclusive end; `None` for no end.
    pub end: Option<Timestamp>,
}

impl TimeRange {
    /// Every time.
    pub const ALL: TimeRange = TimeRange {
        start: None,
        end: None,
    };

    /// `[start, end)`.
    pub fn new(start: Timestamp, end: Timestamp) -> Self {
        TimeRange {
            start: Some(start),
            end: Some(end),
        }
    }

    /// True when `t` is inside.
    pub fn contains(&self, t: Timestamp) -> bool {
        self.start.is_none_or(|s| t >= s) && self.end.is_none_or(|e| t < e)
    }

    /// True when the closed interval `[min, max]` overlaps this range.
    pub fn overlaps(&self, min: Timestamp, max: Timestamp) -> bool {
        self.start.is_none_or(|s| max >= s) && self.end.is_none_or(|e| min < e)
    }

    /// Start as nanoseconds, `i64::MIN` when open.
    pub fn start_nanos(&self) -> i64 {
        self.start.map_or(i64::MIN, |t| t.0)
    }

    /// End as nanoseconds, `i64::MAX` when open.
    pub fn end_nanos(&self) -> i64 {
        self.end.map_or(i64::MAX, |t| t.0)
    }
}

/// Filters on log records. Every given condition must hold (AND); list-valued conditions
/// match any of their values (IN).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct LogFilter {
    /// The record's service is one of these (empty: any).
    pub services: Vec<String>,
    /// The record's level is one of these (empty: any).
    pub levels: Vec<Level>,
    /// Attribute equality: the record attribute (or, if absent, the resource attribute) with
    /// this key has this value, compared as text ([`AttributeValue::to_text`]).
    pub attributes: Vec<(String, String)>,
    /// Case-insensitive substring of the message.
    pub contains: Option<String>,
    /// Full-text terms, searched in the whole record: every term's tokens appear, in order
    /// and adjacent (see [`has_phrase`]), among the tokens of the message or of one string
    /// value of the record's or its resource's attributes; case-insensitive.
    pub terms: Vec<String>,
    /// The record belongs to one of these traces (empty: any).
    pub trace_ids: BTreeSet<TraceId>,
}

impl LogFilter {
    /// With [`services`](Self::services).
    pub fn with_services(mut self, services: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.services = services.into_iter().map(Into::into).collect();
        self
    }

    /// With [`levels`](Self::levels).
    pub fn with_levels(mut self, levels: impl IntoIterator<Item = Level>) -> Self {
        self.levels = levels.into_iter().collect();
        self
    }

    /// With [`attributes`](Self::attributes).
    pub fn with_attributes(
        mut self,
        attributes: impl IntoIterator<Item = (String, String)>,
    ) -> Self {
        self.attributes = attributes.into_iter().collect();
        self
    }

    /// With [`contains`](Self::contains).
    pub fn with_contains(mut self, contains: impl Into<String>) -> Self {
        self.contains = Some(contains.into());
        self
    }

    /// With [`terms`](Self::terms).
    pub fn with_terms(mut self, terms: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.terms = terms.into_iter().map(Into::into).collect();
        self
    }

    /// With [`trace_ids`](Self::trace_ids).
    pub fn with_trace_ids(mut self, trace_ids: impl IntoIterator<Item = TraceId>) -> Self {
        self.trace_ids = trace_ids.into_iter().collect();
        self
    }
}

impl LogFilter {
    /// True when no condition is set.
    pub fn is_empty(&self) -> bool {
        self == &LogFilter::default()
    }

    /// The reference semantics: true when `rec` passes every condition.
    pub fn matches(&self, rec: &LogRecord) -> bool {
        if !self.services.is_empty() && !self.services.contains(&rec.service) {
            return false;
        }
        if !self.levels.is_empty() && !self.levels.contains(&rec.level()) {
            return false;
        }
        if !self.trace_ids.is_empty() && !rec.trace_id.is_some_and(|t| self.trace_ids.contains(&t))
        {
            return false;
        }
        for (k, v) in &self.attributes {
            if !attribute_equals(rec, k, v) {
                return false;
            }
        }
        if let Some(c) = &self.contains
            && !contains_ci(&rec.body, c)
        {
            return false;
        }
        self.terms.iter().all(|t| record_has_phrase(rec, t))
    }

    /// The message conditions ([`contains`](Self::contains) and [`terms`](Self::terms))
    /// applied to a record's body alone, as if its attributes held no text: what
    /// [`matches`](Self::matches) decides when no attribute value can hold a term.
    pub fn matches_body(&self, body: &str) -> bool {
        if let Some(c) = &self.contains
            && !contains_ci(body, c)
        {
            return false;
        }
        self.terms.iter().all(|t| has_phrase(body, t))
    }
}

/// [`has_phrase`] on the whole record: the message, or one string value of the record's or
/// its resource's attributes.
pub fn record_has_phrase(rec: &LogRecord, phrase: &str) -> bool {
    has_phrase(&rec.body, phrase)
        || attributes_have_phrase([&rec.attributes, &rec.resource], phrase)
}

/// True when one string value of the attribute maps holds the phrase ([`has_phrase`]).
pub fn attributes_have_phrase<'a>(
    maps: impl IntoIterator<Item = &'a heimsight_core::Attributes>,
    phrase: &str,
) -> bool {
    maps.into_iter().any(|m| {
        m.values()
            .any(|v| matches!(v, AttributeValue::String(s) if has_phrase(s, phrase)))
    })
}

fn attribute_equals(rec: &LogRecord, key: &str, value: &str) -> bool {
    let lookup = |v: Option<&AttributeValue>| v.map(|a| a.to_text() == value);
    lookup(rec.attributes.get(key))
        .or_else(|| lookup(rec.resource.get(key)))
        .unwrap_or(false)
}

/// Case-insensitive (Unicode lower-case) substring test.
pub fn contains_ci(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    if needle.is_ascii() && haystack.is_ascii() {
        let h = haystack.as_bytes();
        let n = needle.as_bytes();
        let (first, rest) = (n[0], &n[1..]);
        // Candidates start at either case of the needle's first byte.
        return memchr::memchr2_iter(first.to_ascii_lowercase(), first.to_ascii_uppercase(), h)
            .any(|i| {
                h.get(i + 1..i + n.len())
                    .is_some_and(|w| w.eq_ignore_ascii_case(rest))
            });
    }
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

/// Splits text into lower-case tokens: maximal runs of alphanumeric characters and `_`.
///
/// This is the tokenizer of full-text search ([`LogFilter::terms`]) and of every index a
/// backend builds for it.
pub(crate) fn tokenize(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !is_token_char(c))
        .filter(|t| !t.is_empty())
        .map(|t| t.to_lowercase())
}

/// True for the characters tokens are made of (see [`tokenize`]).
pub(crate) fn is_token_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// True when the tokens of `phrase` appear adjacent and in order among the tokens of `text`.
pub fn has_phrase(text: &str, phrase: &str) -> bool {
    let want: Vec<String> = tokenize(phrase).collect();
    if want.is_empty() {
        return true;
    }
    // Cheap rejection first: every token must at least occur as a substring.
    if !want.iter().all(|t| contains_ci(text, t)) {
        return false;
    }
    let have: Vec<String> = tokenize(text).collect();
    have.windows(want.len()).any(|w| w == want.as_slice())
}

/// A page of logs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LogQuery {
    /// Time range of the records' timestamps.
    pub range: TimeRange,
    /// Conditions.
    pub filter: LogFilter,
    /// Order by timestamp.
    pub order: Order,
    /// At most this many records.
    pub limit: usize,
    /// Skip this many matching records first.
    pub offset: usize,
}

impl LogQuery {
    /// With [`range`](Self::range).
    pub fn with_range(mut self, range: TimeRange) -> Self {
        self.range = range;
        self
    }

    /// With [`filter`](Self::filter).
    pub fn with_filter(mut self, filter: LogFilter) -> Self {
        self.filter = filter;
        self
    }

    /// With [`order`](Self::order).
    pub fn with_order(mut self, order: Order) -> Self {
        self.order = order;
        self
    }

    /// With [`limit`](Self::limit).
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// With [`offset`](Self::offset).
    pub fn with_offset(mut self, offset: usize) -> Self {
        self.offset = offset;
        self
    }
}

impl Default for LogQuery {
    fn default() -> Self {
        LogQuery {
            range: TimeRange::ALL,
            filter: LogFilter::default(),
            order: Order::NewestFirst,
            limit: 100,
            offset: 0,
        }
    }
}

/// The answer to a [`LogQuery`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogPage {
    /// The records of the page, in the requested order. Records with equal timestamps come in
    /// an unspecified but stable order.
    pub logs: Vec<LogRecord>,
    /// How many records match in all, ignoring limit and offset.
    pub total: u64,
}

/// Which fields of log records a scan must fill. Timestamp, severity and service are always
/// filled; other fields not asked for may be left empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogFields {
    /// The message.
    pub body: bool,
    /// Record and resource attributes.
    pub attributes: bool,
    /// Trace and span ids.
    pub trace: bool,
    /// Everything (observed timestamp, scope, flags, dropped counts too).
    pub all: bool,
}

impl LogFields {
    /// Every field.
    pub const ALL: LogFields = LogFields {
        body: true,
        attributes: true,
        trace: true,
        all: true,
    };
}

/// A scan over log records: every matching record, in batches, for engines that aggregate or
/// filter further (the query language).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LogScan {
    /// Time range of the records' timestamps.
    pub range: TimeRange,
    /// Conditions.
    pub filter: LogFilter,
    /// Preferred order. Backends visit their data roughly in this order (RocksDB: block by
    /// block, each batch sorted) but do not promise a total order across batches.
    pub order: Order,
    /// Fields to fill.
    pub fields: LogFields,
    /// When not 0: only the first `limit` matching records in exactly [`order`](Self::order)
    /// (by timestamp), in one batch — the newest or oldest page, without visiting the rest.
    pub limit: usize,
}

impl LogScan {
    /// With [`range`](Self::range).
    pub fn with_range(mut self, range: TimeRange) -> Self {
        self.range = range;
        self
    }

    /// With [`filter`](Self::filter).
    pub fn with_filter(mut self, filter: LogFilter) -> Self {
        self.filter = filter;
        self
    }

    /// With [`order`](Self::order).
    pub fn with_order(mut self, order: Order) -> Self {
        self.order = order;
        self
    }

    /// With [`fields`](Self::fields).
    pub fn with_fields(mut self, fields: LogFields) -> Self {
        self.fields = fields;
        self
    }

    /// With [`limit`](Self::limit).
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }
}

impl Default for LogScan {
    fn default() -> Self {
        LogScan {
            range: TimeRange::ALL,
            filter: LogFilter::default(),
            order: Order::NewestFirst,
            fields: LogFields::ALL,
            limit: 0,
        }
    }
}

/// A scan over spans.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct SpanScan {
    /// Range of the spans' start times.
    pub range: TimeRange,
    /// The span's service is one of these (empty: any).
    pub services: Vec<String>,
    /// The span's name is one of these (empty: any).
    pub names: Vec<String>,
    /// The span belongs to one of these traces (empty: any).
    pub trace_ids: Vec<TraceId>,
    /// When true, only the indexed fields need be filled: trace, span and parent ids,
    /// service, name, kind, status code, start and end time. Status message, attributes,
    /// resource, scope, events, links, trace state, flags and dropped counts may be left
    /// empty, which lets backends answer from an index without reading whole spans.
    pub index_only: bool,
}

impl SpanScan {
    /// With [`range`](Self::range).
    pub fn with_range(mut self, range: TimeRange) -> Self {
        self.range = range;
        self
    }

    /// With [`services`](Self::services).
    pub fn with_services(mut self, services: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.services = services.into_iter().map(Into::into).collect();
        self
    }

    /// With [`names`](Self::names).
    pub fn with_names(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.names = names.into_iter().map(Into::into).collect();
        self
    }

    /// With [`trace_ids`](Self::trace_ids).
    pub fn with_trace_ids(mut self, trace_ids: impl IntoIterator<Item = TraceId>) -> Self {
        self.trace_ids = trace_ids.into_iter().collect();
        self
    }

    /// With [`index_only`](Self::index_only).
    pub fn with_index_only(mut self, index_only: bool) -> Self {
        self.index_only = index_only;
        self
    }
}

impl SpanScan {
    /// The reference semantics: true when `s` passes every condition.
    pub fn matches(&self, s: &Span) -> bool {
        self.matches_fields(&s.service, &s.name, &s.trace_id, s.start_time)
    }

    /// [`matches`](Self::matches) on the fields the conditions look at.
    pub fn matches_fields(
        &self,
        service: &str,
        name: &str,
        trace_id: &TraceId,
        start: Timestamp,
    ) -> bool {
        self.range.contains(start)
            && (self.services.is_empty() || self.services.iter().any(|s| s == service))
            && (self.names.is_empty() || self.names.iter().any(|n| n == name))
            && (self.trace_ids.is_empty() || self.trace_ids.contains(trace_id))
    }
}

/// The indexed fields of a span (see [`SpanScan::index_only`]), with service and name shared
/// between the rows of a scan instead of copied into each: what aggregating span queries
/// read.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanRow {
    /// Trace id.
    pub trace_id: TraceId,
    /// Span id.
    pub span_id: SpanId,
    /// Parent span id (`None` for a root).
    pub parent_span_id: Option<SpanId>,
    /// Service.
    pub service: Arc<str>,
    /// Name (operation).
    pub name: Arc<str>,
    /// Kind.
    pub kind: SpanKind,
    /// Status code.
    pub status: StatusCode,
    /// Start time.
    pub start_time: Timestamp,
    /// End time.
    pub end_time: Timestamp,
}

impl SpanRow {
    /// Duration in nanoseconds, as [`Span::duration_nanos`].
    pub fn duration_nanos(&self) -> i64 {
        self.end_time.0.saturating_sub(self.start_time.0)
    }
}

/// Hands out one shared copy of each distinct string (for [`SpanRow`]s), looked up by its
/// bytes, with the last one handed out remembered (rows of a scan often repeat a service).
#[derive(Debug, Default)]
pub(crate) struct Interner {
    strings: std::collections::HashMap<Box<[u8]>, Arc<str>, crate::hash::FastHash>,
    last: Option<Arc<str>>,
}

impl Interner {
    /// The shared copy of `s`.
    pub(crate) fn get(&mut self, s: &str) -> Arc<str> {
        match self.known(s.as_bytes()) {
            Some(a) => a,
            None => self.add(s),
        }
    }

    /// The shared copy of the text in `b`; checks that `b` is UTF-8 only the first time
    /// these bytes are seen.
    #[cfg(feature = "rocksdb")]
    pub(crate) fn get_utf8(&mut self, b: &[u8]) -> Result<Arc<str>, std::str::Utf8Error> {
        match self.known(b) {
            Some(a) => Ok(a),
            None => Ok(self.add(std::str::from_utf8(b)?)),
        }
    }

    fn known(&mut self, b: &[u8]) -> Option<Arc<str>> {
        if let Some(last) = &self.last
            && last.as_bytes() == b
        {
            return Some(last.clone());
        }
        let a = self.strings.get(b)?.clone();
        self.last = Some(a.clone());
        Some(a)
    }

    fn add(&mut self, s: &str) -> Arc<str> {
        let a: Arc<str> = Arc::from(s);
        self.strings.insert(s.as_bytes().into(), a.clone());
        self.last = Some(a.clone());
        a
    }

    /// The row of a span's indexed fields.
    pub(crate) fn row(&mut self, s: &Span) -> SpanRow {
        SpanRow {
            trace_id: s.trace_id,
            span_id: s.span_id,
            parent_span_id: s.parent_span_id,
            service: self.get(&s.service),
            name: self.get(&s.name),
            kind: s.kind,
            status: s.status.code,
            start_time: s.start_time,
            end_time: s.end_time,
        }
    }
}

/// A count of log records per group: what an engine asks instead of reading every record
/// when it only needs `count(*)` grouped by service, level and time bucket. Backends answer it
/// from block summaries where they can.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct LogCount {
    /// Time range of the records' timestamps.
    pub range: TimeRange,
    /// Conditions.
    pub filter: LogFilter,
    /// One group per service.
    pub by_service: bool,
    /// One group per level.
    pub by_level: bool,
    /// One group per time bucket of this width (nanoseconds, at least 1), aligned to the Unix
    /// epoch: a record at `t` counts in the bucket starting at `t.div_euclid(w) * w`.
    pub bucket: Option<i64>,
}

impl LogCount {
    /// With [`range`](Self::range).
    pub fn with_range(mut self, range: TimeRange) -> Self {
        self.range = range;
        self
    }

    /// With [`filter`](Self::filter).
    pub fn with_filter(mut self, filter: LogFilter) -> Self {
        self.filter = filter;
        self
    }

    /// With [`by_service`](Self::by_service).
    pub fn with_by_service(mut self, by_service: bool) -> Self {
        self.by_service = by_service;
        self
    }

    /// With [`by_level`](Self::by_level).
    pub fn with_by_level(mut self, by_level: bool) -> Self {
        self.by_level = by_level;
        self
    }

    /// With [`bucket`](Self::bucket).
    pub fn with_bucket(mut self, bucket: i64) -> Self {
        self.bucket = Some(bucket);
        self
    }
}

impl LogCount {
    /// Checks the request (the bucket width must be positive).
    pub fn validate(&self) -> Result<()> {
        match self.bucket {
            Some(w) if w <= 0 => Err(Error::InvalidRequest(format!(
                "the bucket width must be positive, got {w} ns"
            ))),
            _ => Ok(()),
        }
    }

    /// The bucket start of a timestamp (`None` without buckets).
    pub fn bucket_of(&self, t: i64) -> Option<Timestamp> {
        self.bucket
            .map(|w| Timestamp(t.div_euclid(w).saturating_mul(w)))
    }
}

/// One group of a [`LogCount`]: the key fields the count asked for (`None` for the others)
/// and the number of matching records. A backend may report one group in several rows (for
/// example one per block); the counts of equal keys add up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogCountRow {
    /// The service, when counting by service.
    pub service: Option<String>,
    /// The level, when counting by level.
    pub level: Option<Level>,
    /// The bucket's start, when counting by time bucket.
    pub bucket: Option<Timestamp>,
    /// Matching records in the group.
    pub count: u64,
}

/// A group key of a [`LogCounter`]: service, level, bucket start.
type CountKey = (Option<String>, Option<Level>, Option<i64>);

/// Adds up a [`LogCount`]'s groups, record by record or many at once.
#[derive(Debug, Default)]
pub struct LogCounter {
    groups: std::collections::HashMap<CountKey, u64>,
}

impl LogCounter {
    /// Adds `n` records of a service and level at time `t` to their group.
    pub fn add(&mut self, q: &LogCount, service: &str, level: Level, t: i64, n: u64) {
        let service = q.by_service.then(|| service.to_string());
        let level = q.by_level.then_some(level);
        let bucket = q.bucket_of(t).map(|b| b.0);
        *self.groups.entry((service, level, bucket)).or_insert(0) += n;
    }

    /// True when nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The groups counted so far (in no particular order); the counter is left empty.
    pub fn take(&mut self) -> Vec<LogCountRow> {
        self.groups
            .drain()
            .map(|((service, level, bucket), count)| LogCountRow {
                service,
                level,
                bucket: bucket.map(Timestamp),
                count,
            })
            .collect()
    }
}

/// A search for traces.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TraceQuery {
    /// Some span of the trace belongs to this service.
    pub service: Option<String>,
    /// Some span of the trace has this name (operation).
    pub operation: Option<String>,
    /// The trace's start time (its earliest span's start) falls in this range.
    pub range: TimeRange,
    /// The trace lasts at least this long (ns): latest end minus earliest start.
    pub min_duration: Option<i64>,
    /// The trace lasts at most this long (ns).
    pub max_duration: Option<i64>,
    /// At most this many traces, newest first.
    pub limit: usize,
}

impl TraceQuery {
    /// With [`service`](Self::service).
    pub fn with_service(mut self, service: impl Into<String>) -> Self {
        self.service = Some(service.into());
        self
    }

    /// With [`operation`](Self::operation).
    pub fn with_operation(mut self, operation: impl Into<String>) -> Self {
        self.operation = Some(operation.into());
        self
    }

    /// With [`range`](Self::range).
    pub fn with_range(mut self, range: TimeRange) -> Self {
        self.range = range;
        self
    }

    /// With [`min_duration`](Self::min_duration).
    pub fn with_min_duration(mut self, min_duration: i64) -> Self {
        self.min_duration = Some(min_duration);
        self
    }

    /// With [`max_duration`](Self::max_duration).
    pub fn with_max_duration(mut self, max_duration: i64) -> Self {
        self.max_duration = Some(max_duration);
        self
    }

    /// With [`limit`](Self::limit).
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }
}

impl Default for TraceQuery {
    fn default() -> Self {
        TraceQuery {
            service: None,
            operation: None,
            range: TimeRange::ALL,
            min_duration: None,
            max_duration: None,
            limit: 20,
        }
    }
}

/// A trace at a glance (the API's shape, built with `TraceSummary::from_spans`).
pub use heimsight_core::api::TraceSummary;

impl TraceQuery {
    /// The reference semantics of a trace query (all but the limit): whether `t` matches.
    pub fn matches(&self, t: &TraceSummary) -> bool {
        self.range.contains(t.start_time)
            && self.service.as_ref().is_none_or(|s| t.services.contains(s))
            && self
                .operation
                .as_ref()
                .is_none_or(|o| t.operations.contains(o))
            && self.min_duration.is_none_or(|d| t.duration_ns >= d)
            && self.max_duration.is_none_or(|d| t.duration_ns <= d)
    }
}

pub use heimsight_core::{MatchOp, split_matcher};

/// A Prometheus-style label matcher. The metric name is the label `__name__`.
#[derive(Debug, Clone)]
pub struct LabelMatcher {
    /// Label name.
    pub name: String,
    /// Comparison.
    pub op: MatchOp,
    /// Value or pattern.
    pub value: String,
    regex: Option<regex::Regex>,
}

impl PartialEq for LabelMatcher {
    fn eq(&self, o: &Self) -> bool {
        self.name == o.name && self.op == o.op && self.value == o.value
    }
}

impl LabelMatcher {
    /// A matcher; fails only for an invalid regular expression.
    pub fn new(name: impl Into<String>, op: MatchOp, value: impl Into<String>) -> Result<Self> {
        let value = value.into();
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => Some(
                regex::Regex::new(&format!("^(?:{value})$"))
                    .map_err(|e| Error::InvalidRequest(format!("bad regex {value:?}: {e}")))?,
            ),
            _ => None,
        };
        Ok(LabelMatcher {
            name: name.into(),
            op,
            value,
            regex,
        })
    }

    /// `name = value`.
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        LabelMatcher {
            name: name.into(),
            op: MatchOp::Equal,
            value: value.into(),
            regex: None,
        }
    }

    /// True when a label value (`None` for a missing label) satisfies the matcher.
    pub fn matches_value(&self, v: Option<&str>) -> bool {
        let v = v.unwrap_or("");
        match (self.op, &self.regex) {
            (MatchOp::Equal, _) => v == self.value,
            (MatchOp::NotEqual, _) => v != self.value,
            (MatchOp::Regex, Some(r)) => r.is_match(v),
            (MatchOp::NotRegex, Some(r)) => !r.is_match(v),
            _ => false,
        }
    }

    /// True when the series satisfies the matcher.
    pub fn matches(&self, name: &str, labels: &Labels) -> bool {
        if self.name == "__name__" {
            self.matches_value(Some(name))
        } else {
            self.matches_value(labels.get(&self.name).map(String::as_str))
        }
    }
}

/// A series: metric name plus labels, with its kind and metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Metric name.
    pub name: String,
    /// Labels.
    pub labels: Labels,
    /// Kind of the latest point written.
    pub kind: MetricKind,
    /// Temporality of the latest point written.
    pub temporality: Temporality,
    /// Whether the counter is monotonic.
    pub monotonic: bool,
    /// Unit.
    pub unit: String,
    /// Description.
    pub description: String,
}

impl Series {
    /// The series a point belongs to, with the point's kind and metadata.
    pub fn of(p: &MetricPoint) -> Series {
        Series {
            name: p.name.clone(),
            labels: p.labels.clone(),
            kind: p.kind,
            temporality: p.temporality,
            monotonic: p.monotonic,
            unit: p.unit.clone(),
            description: p.description.clone(),
        }
    }
}

/// One stored point of a series.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Time.
    pub timestamp: Timestamp,
    /// Value.
    pub value: MetricValue,
    /// Start of the accumulation window (0 when unknown).
    pub start_timestamp: Timestamp,
    /// Exemplars kept with the point.
    pub exemplars: Vec<Exemplar>,
    /// OTLP data point flags.
    pub flags: u32,
}

impl Point {
    /// A point with a value and nothing else.
    pub fn new(timestamp: Timestamp, value: MetricValue) -> Point {
        Point {
            timestamp,
            value,
            start_timestamp: Timestamp(0),
            exemplars: Vec::new(),
            flags: 0,
        }
    }

    /// The stored part of a metric point.
    pub fn of(p: &MetricPoint) -> Point {
        Point {
            timestamp: p.timestamp,
            value: p.value.clone(),
            start_timestamp: p.start_timestamp,
            exemplars: p.exemplars.clone(),
            flags: p.flags,
        }
    }
}

/// Selects series (and their points).
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct SeriesQuery {
    /// Metric name (shorthand for a `__name__` equality matcher).
    pub name: Option<String>,
    /// Further matchers; all must hold.
    pub matchers: Vec<LabelMatcher>,
    /// Points in this range (and, for [`MetricStore::series`](crate::MetricStore::series), series with points in it).
    pub range: TimeRange,
    /// At most this many series (0: no limit).
    pub limit: usize,
}

impl SeriesQuery {
    /// With [`name`](Self::name).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// With [`matchers`](Self::matchers).
    pub fn with_matchers(mut self, matchers: impl IntoIterator<Item = LabelMatcher>) -> Self {
        self.matchers = matchers.into_iter().collect();
        self
    }

    /// With [`range`](Self::range).
    pub fn with_range(mut self, range: TimeRange) -> Self {
        self.range = range;
        self
    }

    /// With [`limit`](Self::limit).
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }
}

impl SeriesQuery {
    /// The reference semantics: true when the series satisfies name and matchers.
    pub fn matches(&self, name: &str, labels: &Labels) -> bool {
        self.name.as_ref().is_none_or(|n| n == name)
            && self.matchers.iter().all(|m| m.matches(name, labels))
    }
}

/// A series with its points, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesPoints {
    /// The series.
    pub series: Series,
    /// Its points in the range, oldest first.
    pub points: Vec<Point>,
}

/// The three telemetry signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Signal {
    /// Log records.
    Logs,
    /// Spans.
    Spans,
    /// Metric points.
    Metrics,
}

impl Signal {
    /// All signals.
    pub const ALL: [Signal; 3] = [Signal::Logs, Signal::Spans, Signal::Metrics];

    /// Lower-case name (`logs`, `spans`, `metrics`).
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Logs => "logs",
            Signal::Spans => "spans",
            Signal::Metrics => "metrics",
        }
    }
}

/// Size and age of one signal's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SignalStats {
    /// Records stored (exact or a close estimate, per backend).
    pub records: u64,
    /// Bytes used (on disk for persistent backends, estimated in memory otherwise).
    pub bytes: u64,
    /// Oldest record's timestamp.
    pub oldest: Option<Timestamp>,
    /// Newest record's timestamp.
    pub newest: Option<Timestamp>,
}

/// The store's background work so far (counters since it was opened) and now (gauges), for
/// monitoring such as `/metrics`. Backends fill what they have; the rest stays 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct StoreActivity {
    /// Merges of small log blocks into larger ones done.
    pub log_merges: u64,
    /// Log blocks merged away by those merges.
    pub log_blocks_merged: u64,
    /// Metric head chunks cut and written.
    pub metric_chunk_cuts: u64,
    /// Compactions of the storage engine running now.
    pub compactions_running: u64,
    /// Memtable flushes of the storage engine running now.
    pub flushes_running: u64,
    /// Bytes the storage engine estimates it still has to compact.
    pub pending_compaction_bytes: u64,
}

/// Statistics of a whole store.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StoreStats {
    /// Logs.
    pub logs: SignalStats,
    /// Spans.
    pub spans: SignalStats,
    /// Metric points.
    pub metrics: SignalStats,
    /// Number of metric series.
    pub series: u64,
}

impl StoreStats {
    /// The stats of one signal.
    pub fn get(&self, s: Signal) -> &SignalStats {
        match s {
            Signal::Logs => &self.logs,
            Signal::Spans => &self.spans,
            Signal::Metrics => &self.metrics,
        }
    }
}
