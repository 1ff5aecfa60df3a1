//! `roster export` as CSV (RFC 4180 through the `csv` crate: a header row, CRLF records,
//! UTF-8, quoted where needed) or as the versioned JSON document.
//!
//! A CSV is opened in spreadsheets, which run a cell that starts with `=`, `+`, `-` or
//! `@` as a formula (and some do after a tab or carriage return): every such cell is
//! neutralised with a leading `'` (OWASP's advice), whatever its origin: the file's
//! values, git's author names, the service's. The JSON carries values unchanged.

use std::borrow::Cow;
use std::io::{self, Write};

use roster_plan::export::{ExportDocument, ExportRow};

/// The columns of every export, in order.
const FILE_COLUMNS: [&str; 16] = [
    "userName",
    "displayName",
    "role",
    "paidSeat",
    "active",
    "inactiveReason",
    "teams",
    "expires",
    "reviewAfter",
    "reason",
    "approvedBy",
    "ticket",
    "commit",
    "author",
    "date",
    "inFile",
];

/// The columns `--live` adds (`inFile`, the last of [`FILE_COLUMNS`], is one of them).
const LIVE_COLUMNS: [&str; 3] = ["liveId", "liveStatus", "liveRole"];

/// What separates team names in the `teams` cell.
pub const TEAM_SEPARATOR: &str = "; ";

/// Writes the export as CSV: a header row, then one record per row.
pub fn render_export_csv(document: &ExportDocument, out: &mut impl Write) -> io::Result<()> {
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(out);
    let n_file = if document.live { FILE_COLUMNS.len() } else { FILE_COLUMNS.len() - 1 };
    // A file with `targets` has a row per person and app: the app comes first.
    let targets = document.rows.iter().any(|row| row.target.is_some());
    let header = (if targets { &["target"][..] } else { &[] })
        .iter()
        .chain(&FILE_COLUMNS[..n_file])
        .chain(if document.live { &LIVE_COLUMNS[..] } else { &[] });
    writer.write_record(header)?;
    for row in &document.rows {
        let mut cells = cells(row, document.live);
        if targets {
            cells.insert(0, row.target.clone().unwrap_or_default());
        }
        writer.write_record(cells.iter().map(|cell| neutralise_formula(cell).into_owned()))?;
    }
    writer.flush()
}

/// Writes the export as pretty JSON with a final newline.
pub fn render_export_json(document: &ExportDocument, out: &mut impl Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, document).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

/// The cell with a leading `'` when a spreadsheet would run it as a formula: it starts
/// with `=`, `+`, `-`, `@`, a tab or a carriage return.
pub fn neutralise_formula(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

fn cells(row: &ExportRow, live: bool) -> Vec<String> {
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let flag = |value: Option<bool>| value.map(|v| v.to_string()).unwrap_or_default();
    let day = |value: Option<roster_model::Date>| value.map(|d| d.to_string()).unwrap_or_default();
    let mut cells = vec![
        row.user_name.clone(),
        text(&row.display_name),
        text(&row.role),
        flag(row.paid_seat),
        flag(row.active),
        row.inactive_reason.map(|r| r.as_str().to_owned()).unwrap_or_default(),
        row.teams.join(TEAM_SEPARATOR),
        day(row.expires),
        day(row.review_after),
        text(&row.reason),
        text(&row.approved_by),
        text(&row.ticket),
        text(&row.commit),
        text(&row.author),
        text(&row.date),
    ];
    if live {
        cells.push(flag(row.in_file));
        cells.push(text(&row.live_id));
        cells.push(row.live_status.map(|s| s.as_str().to_owned()).unwrap_or_default());
        cells.push(text(&row.live_role));
    }
    cells
}

#[cfg(test)]
mod tests {
    use roster_model::Date;
    use roster_plan::export::{EXPORT_VERSION, InactiveReason, LiveStatus};

    use super::*;

    fn row(user_name: &str) -> ExportRow {
        ExportRow {
            target: None,
            user_name: user_name.into(),
            display_name: Some("Ada, \"the\" Countess".into()),
            role: Some("admin".into()),
            paid_seat: Some(true),
            active: Some(false),
            inactive_reason: Some(InactiveReason::Expired),
            teams: vec!["Design".into(), "Product".into()],
            expires: Date::parse("2026-03-31").ok(),
            review_after: None,
            reason: Some("line one\nline two".into()),
            approved_by: None,
            ticket: Some("IT-1".into()),
            commit: Some("abc".into()),
            author: Some("Ann <ann@example.com>".into()),
            date: Some("2026-01-02T03:04:05Z".into()),
            in_file: None,
            live_id: None,
            live_status: None,
            live_role: None,
        }
    }

    fn document(rows: Vec<ExportRow>, live: bool) -> ExportDocument {
        ExportDocument {
            version: EXPORT_VERSION,
            generated_at: "2026-01-03T00:00:00Z".into(),
            as_of: Date::parse("2026-01-03").unwrap(),
            files: vec!["users.yaml".into()],
            live,
            rows,
        }
    }

    fn csv_text(document: &ExportDocument) -> String {
        let mut out = Vec::new();
        render_export_csv(document, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn csv_is_rfc_4180_with_a_header() {
        let text = csv_text(&document(vec![row("ada@example.com")], false));
        assert_eq!(
            text,
            "userName,displayName,role,paidSeat,active,inactiveReason,teams,expires,reviewAfter,reason,\
             approvedBy,ticket,commit,author,date\r\n\
             ada@example.com,\"Ada, \"\"the\"\" Countess\",admin,true,false,expired,Design; Product,2026-03-31,,\
             \"line one\nline two\",,IT-1,abc,Ann <ann@example.com>,2026-01-02T03:04:05Z\r\n"
        );
    }

    #[test]
    fn live_columns_follow_the_file_columns() {
        let mut live = row("ada@example.com");
        live.in_file = Some(false);
        live.live_id = Some("u-1".into());
        live.live_status = Some(LiveStatus::Inactive);
        live.live_role = Some("viewer".into());
        let text = csv_text(&document(vec![live], true));
        let mut lines = text.split("\r\n");
        assert!(lines.next().unwrap().ends_with(",date,inFile,liveId,liveStatus,liveRole"));
        assert!(text.contains(",2026-01-02T03:04:05Z,false,u-1,inactive,viewer\r\n"));
    }

    #[test]
    fn every_formula_trigger_is_neutralised() {
        for trigger in ["=", "+", "-", "@", "\t", "\r"] {
            let value = format!("{trigger}HYPERLINK(\"http://evil.example\")");
            assert_eq!(neutralise_formula(&value), format!("'{value}"), "{trigger:?}");
            // In any column, from any origin.
            let mut hostile = row(&format!("{trigger}x@example.com"));
            hostile.display_name = Some(value.clone());
            hostile.author = Some(format!("{trigger}Mallory <m@example.com>"));
            hostile.teams = vec![format!("{trigger}Team")];
            let text = csv_text(&document(vec![hostile], false));
            let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
            let record = reader.records().next().unwrap().unwrap();
            for (column, cell) in record.iter().enumerate() {
                assert!(
                    !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                    "{trigger:?} in column {column}: {cell:?}"
                );
            }
            assert_eq!(&record[0], format!("'{trigger}x@example.com"));
            assert_eq!(&record[1], format!("'{value}"));
            assert_eq!(&record[6], format!("'{trigger}Team"));
            assert_eq!(&record[13], format!("'{trigger}Mallory <m@example.com>"));
        }
        for harmless in ["ada@example.com", "", "'quoted", " =spaced", "a=b"] {
            assert_eq!(neutralise_formula(harmless), harmless);
        }
    }

    #[test]
    fn json_is_the_document_unchanged() {
        let mut hostile = row("=x@example.com");
        hostile.teams = vec!["-Team".into()];
        let mut out = Vec::new();
        render_export_json(&document(vec![hostile.clone()], false), &mut out).unwrap();
        let back: ExportDocument = serde_json::from_slice(&out).unwrap();
        assert_eq!(back.rows, vec![hostile]);
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert!(value["rows"][0].get("liveId").is_none());
        assert_eq!(value["rows"][0]["teams"], serde_json::json!(["-Team"]));
        assert_eq!(value["rows"][0]["reviewAfter"], serde_json::Value::Null);
    }
}
