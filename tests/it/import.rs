//! CSV import and export, the same suite on SQLite and PostgreSQL.

use crate::common;

use std::io::{Cursor, Read};

use common::{TestDb, email, new_contact};
use nyhetsbrev::contact_csv::{
    Encoding, ImportError, ImportEvent, ImportOptions, ImportSummary, Problem, ProblemKind,
    export_csv, import_csv,
};
use nyhetsbrev::domain::{ConsentSource, ContactName, ContactStatus, Organisation};
use nyhetsbrev::store::{Actor, ContactFilter, Store};

on_both_backends!(
    imports_a_norwegian_excel_file,
    a_file_without_an_email_column_writes_nothing,
    a_wrong_delimiter_is_explained,
    broken_quoting_is_reported_by_line_and_the_rest_imported,
    disguising_direction_controls_are_refused_by_line_and_field,
    latin1_bytes_are_refused_or_decoded_on_request,
    empty_files_are_refused,
    a_hundred_thousand_rows_with_a_thousand_bad_ones,
    repeats_and_existing_contacts_are_reported_and_update_never_changes_status,
    a_dry_run_writes_nothing,
    an_interrupted_import_keeps_nothing,
    an_export_neutralises_formulas_and_imports_back_unchanged,
    a_publications_column_chooses_and_unknown_ones_are_refused_by_line,
);

struct Run {
    result: Result<ImportSummary, ImportError>,
    problems: Vec<Problem>,
    ignored: Vec<String>,
}

async fn import_with(
    store: &Store,
    file: impl Read + Send + 'static,
    options: &ImportOptions,
) -> Run {
    let mut problems = Vec::new();
    let mut ignored = Vec::new();
    let result = import_csv(
        store,
        file,
        "kontakter.csv",
        options,
        &Actor::parse("test"),
        |event| match event {
            ImportEvent::Problem(problem) => problems.push(problem.clone()),
            ImportEvent::Started {
                ignored_columns, ..
            } => ignored = ignored_columns.to_vec(),
            ImportEvent::Progress { .. } => {}
        },
    )
    .await;
    Run {
        result,
        problems,
        ignored,
    }
}

async fn import(store: &Store, bytes: impl Into<Vec<u8>>) -> Run {
    import_with(store, Cursor::new(bytes.into()), &ImportOptions::default()).await
}

async fn count(store: &Store) -> i64 {
    store
        .count_contacts(&ContactFilter::default())
        .await
        .unwrap()
}

fn rejected_lines(problems: &[Problem]) -> Vec<u64> {
    problems
        .iter()
        .filter(|p| matches!(p.kind, ProblemKind::Rejected { .. }))
        .map(|p| p.line)
        .collect()
}

fn reason(problem: &Problem) -> &str {
    match &problem.kind {
        ProblemKind::Rejected { reason, .. } => reason,
        other => panic!("not a rejection: {other:?}"),
    }
}

async fn imports_a_norwegian_excel_file(db: &TestDb) {
    let store = db.store().await;
    let file = "\u{feff}E-post;Navn;Organisasjon;Telefon\r\n\
                kari.nordmann@example.no;Kari Nordmann;Politiet Øst;22 00 00 00\r\n\
                \r\n\
                ;;;\r\n\
                Ola@Example.ORG;Ola Ødegård;\"Kirkens Bymisjon; Oslo\";\r\n\
                per@example.org;;;\r\n";
    let run = import(&store, file).await;
    let summary = run.result.unwrap();
    assert_eq!(
        (
            summary.rows,
            summary.inserted,
            summary.rejected,
            summary.blank_rows
        ),
        (3, 3, 0, 1)
    );
    assert!(run.problems.is_empty(), "{:?}", run.problems);
    assert_eq!(run.ignored, ["Telefon"]);

    let ola = store
        .existing_contact(&email("ola@example.org"))
        .await
        .unwrap();
    assert_eq!(ola.email.as_str(), "Ola@example.org");
    assert_eq!(ola.name.unwrap().as_str(), "Ola Ødegård");
    assert_eq!(ola.organisation.unwrap().as_str(), "Kirkens Bymisjon; Oslo");
    assert_eq!(ola.status, ContactStatus::Confirmed);
    assert_eq!(ola.consent.source, ConsentSource::Import);
    assert_eq!(
        ola.consent.note.unwrap().as_str(),
        "importert fra kontakter.csv"
    );
    let per = store
        .existing_contact(&email("per@example.org"))
        .await
        .unwrap();
    assert_eq!((per.name, per.organisation), (None, None));

    let log = store.audit_log(1).await.unwrap();
    assert_eq!(log[0].action, "contacts.import");
    assert!(
        log[0].detail.as_deref().unwrap().contains("inserted=3"),
        "{:?}",
        log[0]
    );
}

async fn a_file_without_an_email_column_writes_nothing(db: &TestDb) {
    let store = db.store().await;
    let run = import(&store, "navn,organisasjon\nKari,Politiet\n").await;
    let error = run.result.unwrap_err();
    assert!(
        matches!(error, ImportError::NoEmailColumn { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("no e-mail column") && message.contains("navn,organisasjon"),
        "{message}"
    );
    assert_eq!(count(&store).await, 0);
    assert!(store.audit_log(5).await.unwrap().is_empty());

    let twice = import(
        &store,
        "email,name,e-post\nola@example.org,Ola,ola@example.org\n",
    )
    .await;
    assert!(
        matches!(twice.result, Err(ImportError::DuplicateColumn("email"))),
        "{:?}",
        twice.result
    );
    assert_eq!(count(&store).await, 0);
}

async fn a_wrong_delimiter_is_explained(db: &TestDb) {
    let store = db.store().await;
    let semicolons = "email;name;organisation\nola@example.org;Ola;KOM\n";
    let forced_comma = ImportOptions {
        delimiter: Some(b','),
        ..Default::default()
    };
    let run = import_with(&store, Cursor::new(semicolons), &forced_comma).await;
    let message = run.result.unwrap_err().to_string();
    assert!(
        message.contains("--delimiter") && message.contains("email;name;organisation"),
        "{message}"
    );

    let pipes = import(&store, "email|name\nola@example.org|Ola\n").await;
    let message = pipes.result.unwrap_err().to_string();
    assert!(message.contains("--delimiter"), "{message}");
    assert_eq!(count(&store).await, 0);

    let with_pipe = ImportOptions {
        delimiter: Some(b'|'),
        ..Default::default()
    };
    let run = import_with(
        &store,
        Cursor::new("email|name\nola@example.org|Ola\n"),
        &with_pipe,
    )
    .await;
    assert_eq!(run.result.unwrap().inserted, 1);
}

async fn broken_quoting_is_reported_by_line_and_the_rest_imported(db: &TestDb) {
    let store = db.store().await;
    let file = "email,name,organisation\n\
                ola@example.org,Ola,KOM\n\
                kari@example.org,Nordmann, Kari,KOM\n\
                \"per@example.org,Per,KOM\n\
                anne@example.org,Anne,KOM\n";
    let run = import(&store, file).await;
    let summary = run.result.unwrap();
    assert_eq!(rejected_lines(&run.problems), [3, 4]);
    assert!(
        reason(&run.problems[0]).contains("the row has 4 fields but the header has 3"),
        "{:?}",
        run.problems[0]
    );
    assert!(
        reason(&run.problems[1]).contains("lines 4–5"),
        "{:?}",
        run.problems[1]
    );
    assert_eq!((summary.inserted, summary.rejected), (1, 2));
    assert_eq!(count(&store).await, 1);
}

async fn disguising_direction_controls_are_refused_by_line_and_field(db: &TestDb) {
    let store = db.store().await;
    let file = "email,name,organisation\n\
                ola@example.org,Ola,KOM\n\
                kari@example.org,Kari \u{202e}nnamdroN,KOM\n\
                per@example.org,Per,\u{2066}Politiet\u{2069}\n";
    let run = import(&store, file).await;
    let summary = run.result.unwrap();
    assert_eq!(rejected_lines(&run.problems), [3, 4]);
    assert!(
        reason(&run.problems[0]).contains("the name contains a bidirectional control character"),
        "{:?}",
        run.problems[0]
    );
    assert!(
        reason(&run.problems[1]).contains("the organisation contains a bidirectional"),
        "{:?}",
        run.problems[1]
    );
    assert_eq!((summary.inserted, summary.rejected), (1, 2));
    assert_eq!(count(&store).await, 1);
}

async fn latin1_bytes_are_refused_or_decoded_on_request(db: &TestDb) {
    let store = db.store().await;
    let file: &[u8] = b"email,name,organisation\nase@example.no,\xc5se \xd8deg\xe5rd,Bufdir\nola@example.org,Ola,KOM\n";
    let run = import(&store, file).await;
    assert_eq!(rejected_lines(&run.problems), [2]);
    assert!(
        reason(&run.problems[0]).contains("--encoding latin1"),
        "{:?}",
        run.problems[0]
    );
    assert_eq!(run.result.unwrap().inserted, 1);

    let latin1 = ImportOptions {
        encoding: Encoding::Latin1,
        ..Default::default()
    };
    let run = import_with(&store, Cursor::new(file.to_vec()), &latin1).await;
    assert_eq!(run.result.unwrap().inserted, 1);
    let ase = store
        .existing_contact(&email("ase@example.no"))
        .await
        .unwrap();
    assert_eq!(ase.name.unwrap().as_str(), "Åse Ødegård");
}

async fn empty_files_are_refused(db: &TestDb) {
    let store = db.store().await;
    for empty in ["", "\n\n", "\u{feff}", "  \r\n"] {
        let run = import(&store, empty).await;
        assert!(
            matches!(run.result, Err(ImportError::Empty)),
            "{empty:?}: {:?}",
            run.result
        );
    }
    let header_only = import(&store, "email,name\n").await.result.unwrap();
    assert_eq!((header_only.rows, header_only.inserted), (0, 0));
    assert_eq!(count(&store).await, 0);
}

async fn a_hundred_thousand_rows_with_a_thousand_bad_ones(db: &TestDb) {
    let store = db.store().await;
    let mut file = String::from("email,name,organisation\n");
    let mut bad_lines = Vec::new();
    for i in 0..100_000_u64 {
        let line = i + 2;
        let row = if i % 100 == 37 {
            bad_lines.push(line);
            match i % 3 {
                0 => format!("person{i}.example.org,Navn {i},Org\n"),
                1 => format!("person{i}@example.org,\"Navn\u{7}{i}\",Org\n"),
                _ => format!("person{i}@example.org,Navn,{i},Org\n"),
            }
        } else {
            format!(
                "person{i}@example.org,Navn Æøå {i},Organisasjon {}\n",
                i % 50
            )
        };
        file.push_str(&row);
    }
    let run = import(&store, file).await;
    let summary = run.result.unwrap();
    assert_eq!(
        (summary.rows, summary.inserted, summary.rejected),
        (100_000, 99_000, 1_000)
    );
    assert_eq!(
        rejected_lines(&run.problems),
        bad_lines,
        "every bad row reported once, with its line"
    );
    assert_eq!(count(&store).await, 99_000);
    let sample = store
        .existing_contact(&email("person99999@example.org"))
        .await
        .unwrap();
    assert_eq!(sample.name.unwrap().as_str(), "Navn Æøå 99999");
}

async fn repeats_and_existing_contacts_are_reported_and_update_never_changes_status(db: &TestDb) {
    let store = db.store().await;
    store
        .add_contact(
            &new_contact("left@example.org", ContactStatus::Unsubscribed),
            &Actor::parse("test"),
        )
        .await
        .unwrap();
    let mut file = String::from("email,name,status\nfirst@example.org,First,confirmed\n");
    for i in 0..1_200 {
        file.push_str(&format!("filler{i}@example.org,Filler,confirmed\n"));
    }
    // Line 1203 repeats line 2 (another batch); 1204 repeats 1203's address in its batch.
    file.push_str("FIRST@example.org,Again,confirmed\nfirst@EXAMPLE.org,Third,confirmed\n");
    file.push_str("left@example.org,Came Back,confirmed\n");
    let run = import(&store, file.clone()).await;
    let summary = run.result.unwrap();
    assert_eq!(
        (
            summary.inserted,
            summary.duplicates_in_file,
            summary.already_on_list
        ),
        (1_201, 2, 1)
    );
    let kinds: Vec<_> = run
        .problems
        .iter()
        .map(|p| (p.line, p.kind.clone()))
        .collect();
    assert_eq!(
        kinds,
        [
            (1203, ProblemKind::DuplicateInFile { first_line: 2 }),
            (1204, ProblemKind::DuplicateInFile { first_line: 2 }),
            (1205, ProblemKind::AlreadyOnList),
        ]
    );

    let update = ImportOptions {
        update: true,
        ..Default::default()
    };
    let run = import_with(&store, Cursor::new(file), &update).await;
    let summary = run.result.unwrap();
    assert_eq!(
        (summary.inserted, summary.updated, summary.unchanged),
        (0, 1, 1_201)
    );
    let left = store
        .existing_contact(&email("left@example.org"))
        .await
        .unwrap();
    assert_eq!(left.name.unwrap().as_str(), "Came Back");
    assert_eq!(
        left.status,
        ContactStatus::Unsubscribed,
        "an import never brings back someone who left"
    );
}

async fn a_dry_run_writes_nothing(db: &TestDb) {
    let store = db.store().await;
    let dry = ImportOptions {
        dry_run: true,
        ..Default::default()
    };
    let run = import_with(
        &store,
        Cursor::new("email\nola@example.org\nkari@example.org\nbad\n"),
        &dry,
    )
    .await;
    let summary = run.result.unwrap();
    assert!(summary.dry_run);
    assert_eq!((summary.inserted, summary.rejected), (2, 1));
    assert_eq!(count(&store).await, 0);
    assert!(store.audit_log(5).await.unwrap().is_empty());
    // The store is usable afterwards (the import's temporary table is gone with it).
    assert_eq!(
        import(&store, "email\nola@example.org\n")
            .await
            .result
            .unwrap()
            .inserted,
        1
    );
}

/// A reader that fails part-way, as a disk or a pipe may.
struct FailsAfter {
    data: Cursor<Vec<u8>>,
    limit: u64,
}

impl Read for FailsAfter {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.data.position() >= self.limit {
            return Err(std::io::Error::other("device went away"));
        }
        self.data.read(buf)
    }
}

async fn an_interrupted_import_keeps_nothing(db: &TestDb) {
    let store = db.store().await;
    let mut file = String::from("email\n");
    for i in 0..20_000 {
        file.push_str(&format!("person{i}@example.org\n"));
    }
    let limit = file.len() as u64 / 2;
    let reader = FailsAfter {
        data: Cursor::new(file.into_bytes()),
        limit,
    };
    let run = import_with(&store, reader, &ImportOptions::default()).await;
    let error = run.result.unwrap_err();
    assert!(error.to_string().contains("device went away"), "{error}");
    assert_eq!(count(&store).await, 0, "the first half must not be kept");
}

async fn an_export_neutralises_formulas_and_imports_back_unchanged(db: &TestDb) {
    let store = db.store().await;
    let actor = Actor::parse("test");
    let entries = [
        (
            "-ola@example.org",
            "=HYPERLINK(\"http://evil.test\")",
            "+47 Politiet",
            ContactStatus::Confirmed,
        ),
        (
            "kari@example.no",
            "Kari, \"K\" Nordmann",
            "@Bufdir",
            ContactStatus::Unsubscribed,
        ),
        ("per@example.org", "Per Østby", "", ContactStatus::Pending),
    ];
    for (address, name, org, status) in entries {
        let mut new = new_contact(address, status);
        new.name = ContactName::parse(name).unwrap();
        new.organisation = Organisation::parse(org).unwrap();
        store.add_contact(&new, &actor).await.unwrap();
    }
    let mut out = Vec::new();
    assert_eq!(
        export_csv(&store, &ContactFilter::default(), &mut out, |_| {})
            .await
            .unwrap(),
        3
    );
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(
        text.contains("'-ola@example.org,\"'=HYPERLINK(\"\"http://evil.test\"\")\",'+47 Politiet"),
        "{text}"
    );
    assert!(text.contains("'@Bufdir"), "{text}");
    for line in text.lines().skip(1) {
        for cell in line.split(',') {
            assert!(
                !cell.starts_with(['=', '+', '-', '@']),
                "formula cell {cell:?} in {line}"
            );
        }
    }

    let confirmed = ContactFilter {
        status: Some(ContactStatus::Confirmed),
        search: None,
        publication: None,
    };
    let mut only_confirmed = Vec::new();
    export_csv(&store, &confirmed, &mut only_confirmed, |_| {})
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8(only_confirmed).unwrap().lines().count(),
        2
    );

    let copy = TestDb::of(db.kind).await.unwrap();
    let copy_store = copy.store().await;
    let run = import(&copy_store, out).await;
    assert_eq!(run.result.unwrap().inserted, 3, "{:?}", run.problems);
    let original = store
        .list_contacts(&ContactFilter::default(), None)
        .await
        .unwrap();
    let imported = copy_store
        .list_contacts(&ContactFilter::default(), None)
        .await
        .unwrap();
    assert_eq!(original.len(), imported.len());
    for (a, b) in original.iter().zip(&imported) {
        assert_eq!(
            (&a.email, &a.name, &a.organisation, a.status),
            (&b.email, &b.name, &b.organisation, b.status)
        );
        assert_eq!(a.consent.source, b.consent.source);
        assert_eq!(
            a.consent.at.unix_ms() / 1000,
            b.consent.at.unix_ms() / 1000,
            "consent time kept to the second"
        );
    }
}

/// Issue 18: a `publications` column names what each person gets (empty: all); a cell
/// naming publications that do not exist refuses its row, by line, and writes nothing
/// of it.
async fn a_publications_column_chooses_and_unknown_ones_are_refused_by_line(db: &TestDb) {
    let store = db.store().await;
    let file = "email;name;publikasjoner\n\
                nytt@example.org;Nora;nyhetsbrev\n\
                alt@example.org;Anne;\n\
                to@example.org;Tore;nyhetsbrev, rettsavgjorelser\n\
                feil@example.org;Frida;domstolene\n\
                stor@example.org;Stig;Nyhetsbrev\n\
                sti@example.org;Sti;../rettsavgjorelser\n";
    let run = import(&store, file).await;
    let summary = run.result.unwrap();
    assert_eq!(rejected_lines(&run.problems), [5, 6, 7]);
    for problem in &run.problems {
        assert!(
            reason(problem)
                .contains("name publications from nyhetsbrev, rettsavgjorelser, tilstandsrapport"),
            "{problem:?}"
        );
    }
    assert_eq!((summary.inserted, summary.rejected), (3, 3));
    let gets = |address: &'static str| {
        let store = store.clone();
        async move {
            let contact = store.existing_contact(&email(address)).await.unwrap();
            store
                .subscriptions(contact.id)
                .await
                .unwrap()
                .into_iter()
                .map(|s| {
                    assert_eq!(s.consent.source, nyhetsbrev::domain::ConsentSource::Import);
                    s.publication.to_string()
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(gets("nytt@example.org").await, ["nyhetsbrev"]);
    assert_eq!(
        gets("alt@example.org").await,
        ["nyhetsbrev", "rettsavgjorelser", "tilstandsrapport"]
    );
    assert_eq!(
        gets("to@example.org").await,
        ["nyhetsbrev", "rettsavgjorelser"]
    );
    assert!(
        store
            .contact(&email("feil@example.org"))
            .await
            .unwrap()
            .is_none()
    );
}
