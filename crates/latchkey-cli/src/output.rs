//! Printing: pretty JSON for `--json`, aligned tables and fields otherwise.

use std::io::Write as _;

use serde::Serialize;
use time::OffsetDateTime;
use time::macros::format_description;

/// Prints `value` as pretty JSON on stdout.
pub fn json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Prints lines on stdout.
pub fn lines(lines: &[String]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for line in lines {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

pub fn line(line: impl std::fmt::Display) -> anyhow::Result<()> {
    lines(&[line.to_string()])
}

/// A table with a header row; columns are padded to their widest cell.
pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&'static str]) -> Self {
        Self {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells.iter().map(|c| clean(c)).collect());
    }

    pub fn render(&self) -> Vec<String> {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(width) = widths.get_mut(i) {
                    *width = (*width).max(cell.chars().count());
                }
            }
        }
        let header: Vec<String> = self.headers.iter().map(|h| (*h).to_owned()).collect();
        std::iter::once(&header)
            .chain(&self.rows)
            .map(|row| {
                let padded: Vec<String> = row
                    .iter()
                    .zip(&widths)
                    .map(|(cell, width)| format!("{cell:<width$}"))
                    .collect();
                padded.join("  ").trim_end().to_owned()
            })
            .collect()
    }

    /// Prints the table, or `empty` when it has no rows.
    pub fn print(&self, empty: &str) -> anyhow::Result<()> {
        if self.rows.is_empty() {
            return line(empty);
        }
        lines(&self.render())
    }
}

/// `name: value` lines with the values aligned.
pub fn fields(fields: &[(&str, String)]) -> anyhow::Result<()> {
    lines(&render_fields(fields))
}

fn render_fields(fields: &[(&str, String)]) -> Vec<String> {
    let width = fields
        .iter()
        .map(|(k, _)| k.chars().count() + 1)
        .max()
        .unwrap_or(0);
    fields
        .iter()
        .map(|(key, value)| {
            let key = format!("{key}:");
            format!("{key:<width$}  {}", clean(value))
                .trim_end()
                .to_owned()
        })
        .collect()
}

/// A UTC timestamp to the second, e.g. `2024-05-01 12:00:00Z`.
pub fn time(at: OffsetDateTime) -> String {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| at.to_string())
}

pub fn opt_time(at: Option<OffsetDateTime>) -> String {
    at.map_or_else(|| "never".to_owned(), time)
}

/// The value, or `-` when absent.
pub fn opt(value: Option<&str>) -> String {
    value.unwrap_or("-").to_owned()
}

pub fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.to_owned()
}

/// One line on stderr. Unlike `eprintln!`, does not panic when stderr is closed.
pub fn stderr(line: impl std::fmt::Display) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Escapes control characters so that server data cannot drive the terminal.
pub fn clean(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use time::macros::datetime;

    use super::*;

    #[test]
    fn aligns_columns() {
        let mut table = Table::new(&["ID", "EMAIL"]);
        table.row(vec!["1".into(), "ada@example.com".into()]);
        table.row(vec!["12345".into(), "b".into()]);
        assert_eq!(
            table.render(),
            vec!["ID     EMAIL", "1      ada@example.com", "12345  b"]
        );
    }

    #[test]
    fn aligns_fields_and_escapes_control_characters() {
        let lines = render_fields(&[("id", "1".into()), ("email", "a\u{1b}[31mb\n".into())]);
        assert_eq!(lines, vec!["id:     1", "email:  a\\u{1b}[31mb\\n"]);
    }

    #[test]
    fn formats_times_in_utc() {
        assert_eq!(
            time(datetime!(2024-05-01 14:00:00.123 +02:00)),
            "2024-05-01 12:00:00Z"
        );
        assert_eq!(opt_time(None), "never");
    }
}
