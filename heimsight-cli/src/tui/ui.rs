//! Drawing the TUI: tabs on top, the current tab's view, a status line, the help overlay.

use heimsight_core::StatusCode;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, Borders, Cell, Chart, Clear, Dataset, GraphType, List, ListItem, ListState,
    Paragraph, Row, Table, TableState, Tabs, Wrap,
};

use super::app::{App, Input, RANGES, Tab};
use crate::output::{duration, number, pairs};

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// The colour of a level or state: the CLI's ([`crate::output::Color::of_level`]) in
/// ratatui's terms.
fn level_color(level: &str) -> Color {
    use crate::output::Color as C;
    match C::of_level(level) {
        C::Red => Color::Red,
        C::Yellow => Color::Yellow,
        C::Green => Color::Green,
        C::Blue => Color::Blue,
        C::Dim => Color::DarkGray,
        C::None | C::Bold => Color::Reset,
    }
}

/// Draws the whole screen.
pub(crate) fn draw(f: &mut Frame<'_>, app: &App) {
    let [top, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(f.area());
    let titles = Tab::ALL
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{} {}", i + 1, t.title()));
    let selected = Tab::ALL.iter().position(|t| *t == app.tab).unwrap_or(0);
    let [tabs_area, url_area] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(url_width(app, top))])
            .areas(top);
    f.render_widget(
        Tabs::new(titles)
            .select(selected)
            .highlight_style(Style::new().bold().reversed())
            .divider("|"),
        tabs_area,
    );
    f.render_widget(
        Paragraph::new(app.url.as_str()).dark_gray().right_aligned(),
        url_area,
    );
    match app.tab {
        Tab::Logs => logs(f, app, body),
        Tab::Query => query(f, app, body),
        Tab::Traces => traces(f, app, body),
        Tab::Metrics => metrics(f, app, body),
        Tab::Alerts => alerts(f, app, body),
    }
    status_line(f, app, status);
    if app.help {
        help(f, f.area());
    }
}

fn url_width(app: &App, top: Rect) -> u16 {
    // The tabs take ~45 columns; the URL gets what is left.
    let want = u16::try_from(app.url.chars().count()).unwrap_or(u16::MAX);
    want.min(top.width.saturating_sub(46))
}

fn status_line(f: &mut Frame<'_>, app: &App, area: Rect) {
    let mut spans = Vec::new();
    if app.loading > 0 {
        spans.push(Span::raw(format!("{} ", SPINNER[app.frame % SPINNER.len()])).cyan());
    }
    match &app.status {
        Some((msg, true)) => spans.push(Span::raw(msg.clone()).red()),
        Some((msg, false)) => spans.push(Span::raw(msg.clone())),
        None => {}
    }
    let hints = if app.editing() {
        "Enter apply · Esc cancel"
    } else {
        "? help · Tab/1-5 switch · q quit"
    };
    let [left, right] = Layout::horizontal([
        Constraint::Min(0),
        Constraint::Length(u16::try_from(hints.chars().count()).unwrap_or(0)),
    ])
    .areas(area);
    f.render_widget(Paragraph::new(Line::from(spans)), left);
    f.render_widget(Paragraph::new(hints).dark_gray(), right);
}

/// An input line with its cursor shown when editing.
fn input_line<'a>(
    label: &'a str,
    input: &'a Input,
    editing: bool,
    placeholder: &'a str,
) -> Line<'a> {
    let mut spans = vec![Span::raw(label).bold()];
    if input.text.is_empty() && !editing {
        spans.push(Span::raw(placeholder).dark_gray());
        return Line::from(spans);
    }
    if editing {
        let at = input
            .text
            .char_indices()
            .nth(input.cursor)
            .map_or(input.text.len(), |(i, _)| i);
        let (a, b) = input.text.split_at(at);
        let mut rest = b.chars();
        let under = rest.next().map_or(" ".to_string(), |c| c.to_string());
        spans.push(Span::raw(a));
        spans.push(Span::raw(under).reversed());
        spans.push(Span::raw(rest.as_str().to_string()));
    } else {
        spans.push(Span::raw(input.text.as_str()));
    }
    Line::from(spans)
}

fn short_time(ts: &str) -> &str {
    // 2026-11-26T09:00:00.123456789Z -> 09:00:00.123
    ts.get(11..23).unwrap_or(ts)
}

fn logs(f: &mut Frame<'_>, app: &App, area: Rect) {
    let l = &app.logs;
    let [bar, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    let mode = if l.paused {
        Span::raw(" PAUSED ").black().on_yellow()
    } else {
        Span::raw(" LIVE ").black().on_green()
    };
    let mut line = input_line(
        "filter: ",
        &l.filter,
        l.editing,
        "/ to filter (level:error service:api words)",
    );
    line.spans.insert(0, Span::raw(" "));
    line.spans.insert(0, mode);
    line.spans
        .push(Span::raw(format!("  {} records", l.records.len())).dark_gray());
    f.render_widget(Paragraph::new(line), bar);

    let (list_area, detail_area) = if l.detail {
        let [a, b] =
            Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(rest);
        (a, Some(b))
    } else {
        (rest, None)
    };
    let items: Vec<ListItem<'_>> = l
        .records
        .iter()
        .map(|r| {
            let level = r.level().as_str();
            let time = r.timestamp.to_rfc3339();
            ListItem::new(Line::from(vec![
                Span::raw(short_time(&time).to_string()).dark_gray(),
                Span::raw(" "),
                Span::styled(
                    format!("{:<5}", level.to_uppercase()),
                    Style::new().fg(level_color(level)),
                ),
                Span::raw(" "),
                Span::raw(r.service.clone()).blue(),
                Span::raw(" "),
                Span::raw(r.body.clone()),
            ]))
        })
        .collect();
    let selected = l.selected.or_else(|| l.records.len().checked_sub(1));
    let mut state = ListState::default().with_selected(selected);
    let list = List::new(items).highlight_style(if l.selected.is_some() {
        Style::new().reversed()
    } else {
        Style::new()
    });
    if l.records.is_empty() {
        f.render_widget(
            Paragraph::new("no logs in the last hour yet; waiting for new ones…").dark_gray(),
            list_area,
        );
    } else {
        f.render_stateful_widget(list, list_area, &mut state);
    }
    if let (Some(area), Some(r)) = (detail_area, l.current()) {
        let mut lines = vec![
            Line::from(vec![
                Span::raw("time      ").bold(),
                Span::raw(r.timestamp.to_rfc3339()),
            ]),
            Line::from(vec![
                Span::raw("service   ").bold(),
                Span::raw(r.service.clone()),
            ]),
            Line::from(vec![
                Span::raw("message   ").bold(),
                Span::raw(r.body.clone()),
            ]),
        ];
        if let Some(t) = r.trace_id {
            lines.push(Line::from(vec![
                Span::raw("trace     ").bold(),
                Span::raw(t.to_hex()).blue(),
                Span::raw("  (t: open the trace)").dark_gray(),
            ]));
        }
        for (title, attrs) in [("attributes", &r.attributes), ("resource", &r.resource)] {
            for (k, v) in attrs {
                lines.push(Line::from(vec![
                    Span::raw(format!("{title}.")).dark_gray(),
                    Span::raw(k.clone()).bold(),
                    Span::raw(format!(" = {v}")),
                ]));
            }
        }
        f.render_widget(
            Paragraph::new(lines).wrap(Wrap { trim: false }).block(
                Block::new()
                    .borders(Borders::TOP)
                    .title(" detail (Enter closes) "),
            ),
            area,
        );
    }
}

fn query(f: &mut Frame<'_>, app: &App, area: Rect) {
    let q = &app.query;
    let [editor, marker, results, stats] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let label = "query> ";
    f.render_widget(
        Paragraph::new(input_line(
            label,
            &q.input,
            q.editing,
            "e to edit, Enter to run",
        )),
        editor,
    );
    // The error, with a caret under its position in the editor.
    if let Some((msg, at)) = &q.error {
        let line = match at {
            Some((col, len)) => Line::from(vec![
                Span::raw(" ".repeat(label.len() + col)),
                Span::raw("^".repeat(*len)).red().bold(),
                Span::raw(format!(" {msg}")).red(),
            ]),
            None => Line::from(Span::raw(msg.clone()).red()),
        };
        f.render_widget(Paragraph::new(line), marker);
    }
    if q.columns.is_empty() {
        let hint = if q.error.is_some() {
            ""
        } else {
            "Run a query: SELECT … FROM logs|spans|metrics … (e edits, Enter runs, ↑ history while editing)"
        };
        f.render_widget(
            Paragraph::new(hint).dark_gray().wrap(Wrap { trim: true }),
            results,
        );
    } else {
        let n = q.columns.len().max(1);
        let widths: Vec<Constraint> = (0..n).map(|_| Constraint::Ratio(1, n as u32)).collect();
        let header = Row::new(q.columns.iter().map(|c| Cell::from(c.clone()).bold()));
        let rows = q
            .rows
            .iter()
            .skip(q.scroll)
            .map(|r| Row::new(r.iter().map(|c| Cell::from(c.clone()))));
        f.render_widget(
            Table::new(rows, widths).header(header).column_spacing(1),
            results,
        );
    }
    f.render_widget(Paragraph::new(q.stats.as_str()).dark_gray(), stats);
}

fn traces(f: &mut Frame<'_>, app: &App, area: Rect) {
    let t = &app.traces;
    if let Some(view) = &t.open {
        return waterfall(f, view, area);
    }
    let [bar, list] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    f.render_widget(
        Paragraph::new(input_line(
            "search: ",
            &t.filter,
            t.editing,
            "/ to search (service:api op:name min:250ms), Enter opens",
        )),
        bar,
    );
    let max = t
        .list
        .iter()
        .map(|x| x.duration_ns)
        .max()
        .unwrap_or(1)
        .max(1);
    let rows = t.list.iter().map(|x| {
        let d = x.duration_ns;
        let bar_len = usize::try_from(d * 12 / max).unwrap_or(0).max(1);
        let error = x.error;
        Row::new(vec![
            Cell::from(short_time(&x.start_time.to_rfc3339()).to_string()).dark_gray(),
            Cell::from(format!("{}: {}", x.root_service, x.root_name)),
            Cell::from(duration(d)).bold(),
            Cell::from("█".repeat(bar_len)).style(Style::new().fg(if error {
                Color::Red
            } else {
                Color::Green
            })),
            Cell::from(x.span_count.to_string()),
            Cell::from(if error { "error" } else { "ok" }).style(Style::new().fg(if error {
                Color::Red
            } else {
                Color::Green
            })),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(12),
            Constraint::Min(20),
            Constraint::Length(9),
            Constraint::Length(12),
            Constraint::Length(5),
            Constraint::Length(5),
        ],
    )
    .header(Row::new(["start", "root", "duration", "", "spans", ""]).bold())
    .row_highlight_style(Style::new().reversed());
    let mut state = TableState::default().with_selected(if t.list.is_empty() {
        None
    } else {
        Some(t.selected)
    });
    if t.list.is_empty() {
        f.render_widget(
            Paragraph::new("no traces in the last hour (r refreshes)").dark_gray(),
            list,
        );
    } else {
        f.render_stateful_widget(table, list, &mut state);
    }
}

fn waterfall(f: &mut Frame<'_>, view: &super::app::TraceView, area: Rect) {
    let [head, spans_area, detail] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(7.min(area.height / 3)),
    ])
    .areas(area);
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::raw("trace ").bold(),
            Span::raw(view.id.clone()).blue(),
            Span::raw(format!(
                "  {} spans, {}, {} logs (l)  Esc back",
                view.spans.len(),
                duration(view.total),
                view.logs
            ))
            .dark_gray(),
        ])),
        head,
    );
    let name_w = (spans_area.width / 3).max(12);
    let bar_w = spans_area.width.saturating_sub(name_w + 10).max(4);
    let rows = view.spans.iter().map(|(depth, s)| {
        let start = s.start_time.0;
        let d = s.duration_nanos();
        let off = start - view.start;
        let w = i64::from(bar_w);
        let a = (off * w / view.total).clamp(0, w - 1);
        let b = ((off + d) * w / view.total).clamp(a + 1, w);
        let error = s.status.code == StatusCode::Error;
        let bar = format!(
            "{}{}",
            " ".repeat(usize::try_from(a).unwrap_or(0)),
            "█".repeat(usize::try_from(b - a).unwrap_or(1))
        );
        Row::new(vec![
            Cell::from(format!("{}{}", "  ".repeat(*depth), s.name)),
            Cell::from(duration(d)).bold(),
            Cell::from(bar).style(Style::new().fg(if error {
                Color::Red
            } else {
                service_color(&s.service)
            })),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(name_w),
            Constraint::Length(9),
            Constraint::Min(4),
        ],
    )
    .row_highlight_style(Style::new().reversed());
    let mut state = TableState::default().with_selected(Some(view.selected));
    f.render_stateful_widget(table, spans_area, &mut state);
    if let Some((_, s)) = view.spans.get(view.selected) {
        let mut lines = vec![Line::from(vec![
            Span::raw(s.service.clone()).style(Style::new().fg(service_color(&s.service))),
            Span::raw(format!(
                " {} · {} · status {}",
                s.name,
                s.kind.as_str(),
                s.status.code.as_str()
            )),
            Span::raw(if s.status.message.is_empty() {
                String::new()
            } else {
                format!(": {}", s.status.message)
            })
            .red(),
        ])];
        for (k, v) in &s.attributes {
            lines.push(Line::from(vec![
                Span::raw(k.clone()).bold(),
                Span::raw(format!(" = {v}")),
            ]));
        }
        for e in &s.events {
            lines.push(Line::from(vec![
                Span::raw("event ").dark_gray(),
                Span::raw(e.name.clone()),
            ]));
        }
        f.render_widget(
            Paragraph::new(lines).block(Block::new().borders(Borders::TOP)),
            detail,
        );
    }
}

/// A stable colour per service.
fn service_color(service: &str) -> Color {
    const COLORS: [Color; 6] = [
        Color::Cyan,
        Color::Magenta,
        Color::Blue,
        Color::Green,
        Color::Yellow,
        Color::LightCyan,
    ];
    let h = service
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    COLORS[(h % COLORS.len() as u32) as usize]
}

fn metrics(f: &mut Frame<'_>, app: &App, area: Rect) {
    let m = &app.metrics;
    let names_w = (area.width / 4).clamp(12, 30);
    let [left, right] =
        Layout::horizontal([Constraint::Length(names_w), Constraint::Min(10)]).areas(area);
    let items: Vec<ListItem<'_>> = m.names.iter().map(|n| ListItem::new(n.as_str())).collect();
    let mut state = ListState::default().with_selected(if m.names.is_empty() {
        None
    } else {
        Some(m.selected)
    });
    f.render_stateful_widget(
        List::new(items)
            .block(Block::new().borders(Borders::RIGHT).title("metrics"))
            .highlight_style(Style::new().reversed()),
        left,
        &mut state,
    );
    let Some(name) = &m.charted else {
        f.render_widget(
            Paragraph::new("pick a metric and press Enter; s picks one of its series, r changes the range; the chart refreshes every 10s")
                .dark_gray()
                .wrap(Wrap { trim: true }),
            right,
        );
        return;
    };
    let shown: Vec<&(String, Vec<(f64, f64)>)> = match m.only {
        Some(i) => m.series.get(i).into_iter().collect(),
        None => m.series.iter().collect(),
    };
    let which = match m.only {
        Some(i) => format!("series {}/{} (s)", i + 1, m.series.len()),
        None => format!("{} series (s picks one)", m.series.len()),
    };
    let title = format!(" {name} · last {} (r) · {which} ", RANGES[m.range]);
    if m.series.iter().all(|(_, p)| p.is_empty()) {
        f.render_widget(
            Paragraph::new(format!(
                "no points of {name} in the last {}",
                RANGES[m.range]
            ))
            .block(Block::new().title(title)),
            right,
        );
        return;
    }
    let (mut x_max, mut y_min, mut y_max) = (1.0f64, f64::INFINITY, f64::NEG_INFINITY);
    for (_, pts) in &shown {
        for (x, y) in pts {
            x_max = x_max.max(*x);
            if y.is_finite() {
                y_min = y_min.min(*y);
                y_max = y_max.max(*y);
            }
        }
    }
    if y_min >= y_max {
        y_min -= 1.0;
        y_max += 1.0;
    }
    const COLORS: [Color; 6] = [
        Color::Cyan,
        Color::Yellow,
        Color::Magenta,
        Color::Green,
        Color::Red,
        Color::Blue,
    ];
    let datasets: Vec<Dataset<'_>> = shown
        .iter()
        .enumerate()
        .map(|(i, (label, pts))| {
            Dataset::default()
                .name(label.clone())
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::new().fg(COLORS[i % COLORS.len()]))
                .data(pts)
        })
        .collect();
    let chart = Chart::new(datasets)
        .block(Block::new().title(title))
        .x_axis(
            Axis::default()
                .bounds([0.0, x_max])
                .labels(vec![
                    Line::from("0s"),
                    Line::from(duration((x_max * 1e9) as i64)),
                ])
                .style(Style::new().dark_gray()),
        )
        .y_axis(
            Axis::default()
                .bounds([y_min, y_max])
                .labels(vec![Line::from(number(y_min)), Line::from(number(y_max))])
                .style(Style::new().dark_gray()),
        );
    f.render_widget(chart, right);
}

fn alerts(f: &mut Frame<'_>, app: &App, area: Rect) {
    let a = &app.alerts;
    let [rules_area, alerts_area] =
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    let rows = a.rules.iter().map(|r| {
        let state = r.state.as_str();
        let sev = r.rule.severity.as_str();
        Row::new(vec![
            Cell::from(r.rule.name.clone()),
            Cell::from(r.rule.kind.name().to_string()),
            Cell::from(state).style(
                Style::new()
                    .fg(level_color(state))
                    .add_modifier(Modifier::BOLD),
            ),
            Cell::from(sev.to_string()).style(Style::new().fg(level_color(sev))),
            Cell::from(r.last_error.clone().unwrap_or_default()).red(),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Min(16),
            Constraint::Length(12),
            Constraint::Length(9),
            Constraint::Length(9),
            Constraint::Min(0),
        ],
    )
    .header(Row::new(["rule", "kind", "state", "severity", ""]).bold())
    .block(Block::new().title(" rules (s silences the selected rule for 1h, r refreshes) "))
    .row_highlight_style(Style::new().reversed());
    let mut state = TableState::default().with_selected(if a.rules.is_empty() {
        None
    } else {
        Some(a.selected)
    });
    f.render_stateful_widget(table, rules_area, &mut state);
    let rows = a.alerts.iter().map(|x| {
        let state = x.state.as_str();
        let labels = pairs(&x.labels, " ", &["alertname", "rule_id", "severity"]);
        Row::new(vec![
            Cell::from(x.rule_name.clone()),
            Cell::from(state).style(Style::new().fg(level_color(state))),
            Cell::from(short_time(&x.since.to_rfc3339()).to_string()),
            Cell::from(x.value.map(number).unwrap_or_default()),
            Cell::from(if x.silenced { "silenced" } else { "" }).yellow(),
            Cell::from(labels).dark_gray(),
        ])
    });
    f.render_widget(
        Table::new(
            rows,
            [
                Constraint::Min(16),
                Constraint::Length(8),
                Constraint::Length(12),
                Constraint::Length(8),
                Constraint::Length(8),
                Constraint::Min(0),
            ],
        )
        .header(Row::new(["alert", "state", "since", "value", "", "labels"]).bold())
        .block(
            Block::new()
                .borders(Borders::TOP)
                .title(format!(" active alerts ({}) ", a.alerts.len())),
        ),
        alerts_area,
    );
}

/// The key help, centred over everything.
fn help(f: &mut Frame<'_>, area: Rect) {
    let lines: Vec<Line<'_>> = [
        ("Tab / 1-5", "switch tabs"),
        ("q, Ctrl-C", "quit"),
        ("↑↓ j k", "move"),
        ("/", "filter or search (Enter applies, Esc cancels)"),
        (
            "Logs",
            "space pause/resume · Enter detail · t trace · c clear",
        ),
        ("Query", "e edit · Enter run · ↑ history while editing"),
        ("Traces", "Enter open · Esc back · l logs of the trace"),
        (
            "Metrics",
            "Enter chart · s one series/all · r range · R reload names",
        ),
        ("Alerts", "s silence rule 1h · r refresh"),
    ]
    .into_iter()
    .map(|(k, v)| {
        Line::from(vec![
            Span::raw(format!("{k:<11}")).bold().cyan(),
            Span::raw(v),
        ])
    })
    .collect();
    let w = area.width.min(66);
    let h = (lines.len() as u16 + 2).min(area.height);
    let popup = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    f.render_widget(Clear, popup);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(" keys (any key closes) ")),
        popup,
    );
}
