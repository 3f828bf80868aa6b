//! Every staff page on a phone (issue 31). Signed in, with realistic data (long
//! addresses and names, an issue with long links, a send under way, mail to KOM, a
//! second account, API tokens, a log), each page at 1280 px and at 390 px: its heading,
//! the menu marking the page's place, a screenshot under target/screenshots/
//! (`phone-NAME-desktop`, `phone-NAME-phone`), axe-core with no violation of impact
//! serious or critical, and no page wider than the window at 390 px. The widths measured
//! at 390 px are written to target/screenshots/phone-widths.txt; the test fails after
//! the last page, naming every page that was too wide and what stuck out. At 390 px the
//! menu is folded under «Meny» and opens without script.

use crate::common;

use common::browser::{
    DESKTOP_WIDTH, PHONE_WIDTH, assert_accessible, axe_script, browser, click, fill, heading,
    screenshot, show_whole_page_at, sign_in_as, start_chromedriver, wait_for_heading,
    wait_for_text,
};
use common::staff::{STAFF_PASSWORD, add_admin, totp_code};
use common::{TestDb, add_confirmed, new_contact};
use fantoccini::{Client, Locator};
use nyhetsbrev::domain::{
    ContactId, ContactName, ContactStatus, InboundId, InboundKind, Organisation,
};
use nyhetsbrev::store::{Actor, NewInbound, Store};

/// Addresses and names with no place to break them: the pages must still fit a phone.
const LONG_ADDRESS: &str =
    "anne-kristine.haugland-johannessen@kommunal-og-distriktsdepartementet.example.no";
const LONG_BOUNCED: &str =
    "postmottak.seksjon-for-internasjonalt-samarbeid@arbeids-og-velferdsdirektoratet.example.no";
/// Nearly as long as a username may be (64 characters): the one signed in.
const LONG_STAFF: &str = "ola.nordmann-haugland@koordineringsenheten-menneskehandel.test";
const LONG_SENDER: &str =
    "saksbehandler.utlendingsforvaltningen@utlendingsdirektoratet-region-nord.example.no";

/// One page's width at 390 px, and what stuck out of it.
struct Measured {
    page: String,
    width: u64,
    window: u64,
    sticking_out: String,
}

/// The browser on its way through the pages, and what it measured.
struct Tour<'a> {
    client: &'a Client,
    axe: &'a str,
    base: &'a str,
    measured: Vec<Measured>,
}

impl Tour<'_> {
    /// Opens `path` and checks it (see [`Tour::check`]).
    async fn visit(&mut self, path: &str, name: &str, expected: &str, place: Option<&str>) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
        wait_for_heading(self.client, expected).await;
        self.check(name, expected, place).await;
    }

    /// The page the browser shows, at both widths: its heading, the menu item marked as
    /// the current place (`None` for a page without the menu), a screenshot, axe-core;
    /// at 390 px its width is measured. Leaves the window at desktop width.
    async fn check(&mut self, name: &str, expected: &str, place: Option<&str>) {
        for (width, suffix) in [(DESKTOP_WIDTH, "desktop"), (PHONE_WIDTH, "phone")] {
            show_whole_page_at(self.client, width).await;
            let page = format!("phone-{name}-{suffix}");
            assert_eq!(heading(self.client).await, expected, "{page}: its heading");
            assert_eq!(
                marked_places(self.client).await,
                place.map(|p| vec![p.to_owned()]).unwrap_or_default(),
                "{page}: the place the menu marks"
            );
            screenshot(self.client, &page).await;
            let rules = assert_accessible(self.client, self.axe, &page).await;
            assert!(rules > 20, "{page}: axe ran its rules ({rules})");
            if width == PHONE_WIDTH {
                let measured = measure(self.client, name).await;
                self.measured.push(measured);
            }
        }
        self.client
            .set_window_size(DESKTOP_WIDTH, 1000)
            .await
            .unwrap();
    }

    /// Writes the widths down and fails if any page was wider than the window.
    fn assert_all_fit(&self) {
        let mut table = format!("Width of each staff page in a {PHONE_WIDTH} px window\n");
        for m in &self.measured {
            table.push_str(&format!("{:<32} {:>5} px\n", m.page, m.width));
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("phone-widths.txt"), &table).unwrap();
        let too_wide: Vec<String> = self
            .measured
            .iter()
            .filter(|m| m.width > m.window)
            .map(|m| format!("{} ({} px): {}", m.page, m.width, m.sticking_out))
            .collect();
        assert!(
            too_wide.is_empty(),
            "pages wider than a {PHONE_WIDTH} px window:\n{}",
            too_wide.join("\n")
        );
    }
}

/// The `href` of every item the page's header marks as where the reader is.
async fn marked_places(client: &Client) -> Vec<String> {
    let marked = client
        .execute(
            "return [...document.querySelectorAll('header [aria-current=page]')]\
               .map(a => a.getAttribute('href'));",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(marked).unwrap()
}

/// The page's width and the window's, and the elements sticking out of a parent that
/// does not.
async fn measure(client: &Client, page: &str) -> Measured {
    let widths = client
        .execute(
            "const root = document.documentElement;\n\
             const sticksOut = e => e.getBoundingClientRect().right > root.clientWidth + 0.5;\n\
             const out = [...document.querySelectorAll('body *')]\n\
               .filter(e => sticksOut(e) && !sticksOut(e.parentElement))\n\
               .slice(0, 6)\n\
               .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +\n\
                    (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : '') +\n\
                    ' (right edge ' + Math.round(e.getBoundingClientRect().right) + ')');\n\
             return { scroll: root.scrollWidth, window: window.innerWidth, out: out.join(', ') };",
            vec![],
        )
        .await
        .unwrap();
    Measured {
        page: page.to_owned(),
        width: widths["scroll"].as_u64().unwrap(),
        window: widths["window"].as_u64().unwrap(),
        sticking_out: widths["out"].as_str().unwrap_or_default().to_owned(),
    }
}

/// Whether the first element `css` finds is shown and takes room, as the page lays it
/// out.
async fn shown(client: &Client, css: &str) -> bool {
    client
        .execute(
            "const e = document.querySelector(arguments[0]);\
             return e.checkVisibility({ visibilityProperty: true }) && e.getClientRects().length > 0;",
            vec![css.into()],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap_or_else(|| panic!("{css}: no such element"))
}

async fn add_person(store: &Store, address: &str, status: ContactStatus) -> ContactId {
    let mut person = new_contact(address, status);
    person.name = ContactName::parse("Anne-Kristine Haugland Johannessen").unwrap();
    person.organisation =
        Organisation::parse("Kommunal- og distriktsdepartementet, Avdeling for integrering")
            .unwrap();
    store
        .add_contact(&person, &Actor::parse("cli:test"))
        .await
        .unwrap()
        .id
}

/// A draft whose links are long and point at the tests' link server (one is broken).
async fn draft_with_long_links(store: &Store, links: &str) {
    let source = format!(
        "+++\nslug = \"2026-q4\"\nsubject = \"Nyhetsbrev fra KOM, oktober–desember 2026: \
         tiltaksplan, rettsavgjørelser og kurs\"\nperiod = \"oktober–desember 2026\"\n\
         preheader = \"Det viktigste fra Koordineringsenheten mot menneskehandel dette kvartalet\"\n\
         audience = \"Til KOMs samarbeidsaktører\"\ndate = 2026-12-15\n+++\n\n\
         ## Verdt å merke seg\n\n### Ny tiltaksplan\n\nLes \
         [tiltaksplanen]({links}/ok?utm_source=nyhetsbrev&utm_medium=epost&utm_campaign=tiltaksplan-mot-menneskehandel-2026) \
         og [rapporten]({links}/borte/rapporter/2026/koordineringsenheten-mot-menneskehandel-arsrapport-2026-endelig-versjon.pdf).\n"
    );
    let parsed = nyhetsbrev::render::parse_issue("2026-q4.md", &source).unwrap();
    store
        .save_draft(&parsed.issue, &source, &Actor::parse("cli:test"))
        .await
        .unwrap();
}

/// Mail to KOM: a question from a contact, and a request from someone not on the list.
async fn mail_to_kom(store: &Store, contact: ContactId) -> (InboundId, InboundId) {
    let question = format!(
        "From: Anne-Kristine <{LONG_ADDRESS}>\r\nSubject: Hva har dere lagret om meg?\r\n\r\n\
         Hei! Se https://www.example.no/personvern/innsyn/skjema-for-innsyn-i-personopplysninger-etter-personvernforordningen-artikkel-15\r\n"
    );
    let first = store
        .record_inbound(&NewInbound {
            channel: "api",
            raw: question.as_bytes(),
            raw_sha256: "aa",
            from_address: Some(LONG_ADDRESS),
            subject: Some("Hva har dere lagret om meg?"),
            message_id: Some("<innsyn-1@kommunal-og-distriktsdepartementet.example.no>"),
            sent_at: None,
            kind: InboundKind::Other,
            result: "kept for staff",
            contact_id: Some(contact),
            delivery_id: None,
        })
        .await
        .unwrap();
    let request = format!(
        "From: Saksbehandler <{LONG_SENDER}>\r\nSubject: Kan vi få nyhetsbrevet til hele seksjonen?\r\n\r\nHei\r\n"
    );
    let second = store
        .record_inbound(&NewInbound {
            channel: "api",
            raw: request.as_bytes(),
            raw_sha256: "bb",
            from_address: Some(LONG_SENDER),
            subject: Some("Kan vi få nyhetsbrevet til hele seksjonen?"),
            message_id: Some("<forespørsel-1@utlendingsdirektoratet.example.no>"),
            sent_at: None,
            kind: InboundKind::Other,
            result: "kept for staff",
            contact_id: None,
            delivery_id: None,
        })
        .await
        .unwrap();
    (first, second)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_staff_page_on_a_phone() {
    let Some((_driver, webdriver)) = start_chromedriver() else {
        return;
    };
    let Some(axe) = axe_script() else {
        return;
    };
    let links = common::links::start_link_server().await;
    let db = TestDb::sqlite().await;
    let app = common::staff::staff_app(&db).await;
    let store = &app.store;
    add_admin(store, LONG_STAFF, Some("ola.nordmann@example.no")).await;
    common::api_token(store, "Postmottak hos leverandøren av e-posttjenesten").await;
    add_confirmed(store, 0..25).await;
    let person = add_person(store, LONG_ADDRESS, ContactStatus::Confirmed).await;
    add_person(store, LONG_BOUNCED, ContactStatus::Bounced).await;
    draft_with_long_links(store, &links).await;
    let (sent, _) = common::sample_draft(store).await;
    store
        .enqueue_issue(&sent, &Actor::parse("cli:test"))
        .await
        .unwrap();
    let (question, request) = mail_to_kom(store, person).await;

    let client = browser(&webdriver).await;
    let base = app.address.clone();
    let mut tour = Tour {
        client: &client,
        axe: &axe,
        base: &base,
        measured: Vec::new(),
    };
    tour.visit("/admin/login", "login", "Logg inn", None).await;
    sign_in_as(&client, &base, LONG_STAFF).await;

    // The menu: folded under «Meny» at 390 px, open at a click, marking the page; on a
    // desktop always open, with no «Meny».
    show_whole_page_at(&client, PHONE_WIDTH).await;
    let contacts_item = "header nav a[href='/admin/contacts']";
    assert!(
        shown(&client, "header details summary").await,
        "«Meny» at 390 px"
    );
    assert!(!shown(&client, contacts_item).await, "folded at 390 px");
    click(&client, "header details summary").await;
    assert!(shown(&client, contacts_item).await, "opened at a click");
    tour.check("menu-open", "Oversikt", Some("/admin")).await;
    click(&client, contacts_item).await;
    wait_for_heading(&client, "Kontakter").await;
    assert!(
        !shown(&client, "header details summary").await,
        "no «Meny» on a desktop"
    );
    click(&client, "header nav a[href='/admin/issues']").await;
    wait_for_heading(&client, "Utgaver").await;

    // Contacts.
    tour.visit(
        "/admin/contacts",
        "contacts",
        "Kontakter",
        Some("/admin/contacts"),
    )
    .await;
    client
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             const form = document.querySelector('form[action$=\"export.csv\"]');\
             fetch(form.action, { method: 'POST', body: new URLSearchParams(new FormData(form)) })\
             .then(r => r.text()).then(done, e => done(String(e)));",
            vec![],
        )
        .await
        .unwrap();
    let contact = format!("/admin/contacts/{person}");
    tour.visit(&contact, "contact", LONG_ADDRESS, Some("/admin/contacts"))
        .await;
    tour.visit(
        &format!("{contact}/edit"),
        "contact-edit",
        "Endre kontakt",
        Some("/admin/contacts"),
    )
    .await;
    tour.visit(
        "/admin/contacts/new",
        "contact-new",
        "Legg til kontakt",
        Some("/admin/contacts"),
    )
    .await;
    let erase = format!("Slett {LONG_ADDRESS} for godt?");
    tour.visit(
        &format!("{contact}/remove"),
        "contact-remove",
        &erase,
        Some("/admin/contacts"),
    )
    .await;
    client.goto(&format!("{base}{contact}")).await.unwrap();
    wait_for_heading(&client, LONG_ADDRESS).await;
    click(
        &client,
        "form[action$='/innsyn'] input[value=html] ~ button",
    )
    .await;
    // The person's copy is a page of its own, to print: no staff menu.
    let data = "Dette har vi lagret om deg".to_owned();
    wait_for_heading(&client, &data).await;
    tour.check("personal-data", &data, None).await;

    // An import, with long addresses and rows that are refused.
    tour.visit(
        "/admin/contacts/import",
        "import-form",
        "Importer kontakter fra en fil",
        Some("/admin/contacts"),
    )
    .await;
    let csv = db.dir().join("kontakter-fra-departementet.csv");
    std::fs::write(
        &csv,
        format!(
            "email,name,organisation\nny.kontakt.med.langt.navn@justis-og-beredskapsdepartementet.example.no,Ny Kontakt,JD\n\
             ikke-en-adresse-men-en-veldig-lang-tekst-uten-mellomrom-og-uten-krøllalfa,Feil,UDI\n{LONG_ADDRESS},Anne,KDD\n"
        ),
    )
    .unwrap();
    client
        .find(Locator::Id("file"))
        .await
        .unwrap()
        .send_keys(csv.to_str().unwrap())
        .await
        .unwrap();
    click(&client, "main form button[type=submit]").await;
    wait_for_text(&client, "main", "Filen er sjekket", 20).await;
    let import = "Import av kontakter-fra-departementet.csv";
    tour.check("import-checked", import, Some("/admin/contacts"))
        .await;
    click(&client, "form[action$='/confirm'] button").await;
    wait_for_text(&client, "main", "Importen er ferdig", 20).await;
    tour.check("import-done", import, Some("/admin/contacts"))
        .await;

    // Issues: the list, a new one, the draft, its preview, the send page, a report.
    tour.visit("/admin/issues", "issues", "Utgaver", Some("/admin/issues"))
        .await;
    tour.visit(
        "/admin/issues/new",
        "issue-new",
        "Ny utgave",
        Some("/admin/issues/new"),
    )
    .await;
    tour.visit(
        "/admin/issues/2026-q4",
        "issue-form",
        "Utgave 2026-q4",
        Some("/admin/issues"),
    )
    .await;
    tour.visit(
        "/admin/issues/2026-q4/preview",
        "preview",
        "Forhåndsvisning av 2026-q4",
        Some("/admin/issues"),
    )
    .await;
    client
        .goto(&format!("{base}/admin/issues/2026-q4/send"))
        .await
        .unwrap();
    wait_for_heading(&client, "Før du sender 2026-q4").await;
    wait_for_text(&client, ".broken-links", "404", 10).await;
    click(&client, "form[action$='/test'] button").await;
    wait_for_text(&client, ".notice", "Testkopien er sendt", 10).await;
    tour.check("send", "Før du sender 2026-q4", Some("/admin/issues"))
        .await;
    let report = format!("/admin/issues/{sent}/report");
    tour.visit(
        &report,
        "report",
        &format!("Utsending av {sent}"),
        Some("/admin/issues"),
    )
    .await;

    // Publications: the list with its form (refused once), a publication.
    tour.visit(
        "/admin/publications",
        "publications",
        "Publikasjoner",
        Some("/admin/publications"),
    )
    .await;
    fill(&client, "slug", "Års-rapport-for-koordineringsenheten").await;
    fill(&client, "name", "KOMs årsrapport").await;
    fill(&client, "description", "Én gang i året.").await;
    click(&client, "form[action='/admin/publications'] button").await;
    wait_for_text(&client, "#slug-error", "Kortnavnet", 5).await;
    tour.check(
        "publication-refused",
        "Publikasjoner",
        Some("/admin/publications"),
    )
    .await;
    tour.visit(
        "/admin/publications/rettsavgjorelser",
        "publication",
        "Oversikt over rettsavgjørelser",
        Some("/admin/publications"),
    )
    .await;
    tour.visit(
        "/admin/publications/rettsavgjorelser/bunntekst",
        "publication-footer",
        "Teksten nederst i Oversikt over rettsavgjørelser",
        Some("/admin/publications"),
    )
    .await;
    tour.visit(
        "/admin/innstillinger",
        "settings",
        "Innstillinger",
        Some("/admin/innstillinger"),
    )
    .await;

    // Mail to KOM.
    tour.visit(
        "/admin/inbound",
        "inbound",
        "E-post til KOM",
        Some("/admin/inbound"),
    )
    .await;
    tour.visit(
        &format!("/admin/inbound/{question}"),
        "inbound-message",
        "E-post: Hva har dere lagret om meg?",
        Some("/admin/inbound"),
    )
    .await;
    let add = format!("Legg til {LONG_SENDER} som kontakt?");
    tour.visit(
        &format!("/admin/inbound/{request}/add-contact"),
        "inbound-add",
        &add,
        Some("/admin/inbound"),
    )
    .await;
    tour.visit(
        "/admin/bounces",
        "bounces",
        "Adresser som ikke virker",
        Some("/admin/inbound"),
    )
    .await;

    // The log, the accounts, the API tokens, one's own account.
    tour.visit(
        "/admin/audit",
        "audit",
        "Logg over endringer",
        Some("/admin/audit"),
    )
    .await;
    tour.visit(
        "/admin/staff",
        "staff",
        "Stabskontoer",
        Some("/admin/staff"),
    )
    .await;
    click(&client, "main details summary").await;
    wait_for_text(&client, "main", "Nullstill tofaktor", 10).await;
    tour.check("staff-change", "Stabskontoer", Some("/admin/staff"))
        .await;
    tour.visit(
        "/admin/api-tokens",
        "api-tokens",
        "API-nøkler",
        Some("/admin/staff"),
    )
    .await;
    fill(
        &client,
        "name",
        "Innkommende e-post fra Koordineringsenheten-mot-menneskehandel",
    )
    .await;
    click(&client, "main form[action='/admin/api-tokens'] button").await;
    wait_for_text(&client, "main", "Kopier nøkkelen nå", 10).await;
    tour.check("api-token-made", "API-nøkler", Some("/admin/staff"))
        .await;
    tour.visit(
        "/admin/account",
        "account",
        "Din konto",
        Some("/admin/account"),
    )
    .await;

    // A page that is not there.
    tour.visit(
        "/admin/issues/2099-q1/report",
        "not-found",
        "Fant ikke utgaven",
        None,
    )
    .await;

    // The second factor: set up, its codes, then the code at the next sign-in.
    tour.visit(
        "/admin/totp",
        "totp",
        "Tofaktor-innlogging",
        Some("/admin/account"),
    )
    .await;
    let secret = client
        .find(Locator::Css("code.secret"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    fill(&client, "code", &totp_code(&secret, 0)).await;
    click(&client, "main form button[type=submit]").await;
    wait_for_text(&client, "main", "Gjenopprettingskoder", 10).await;
    tour.check("totp-codes", "Tofaktor-innlogging", Some("/admin/account"))
        .await;
    click(&client, "form.logout button").await;
    wait_for_heading(&client, "Logg inn").await;
    fill(&client, "username", LONG_STAFF).await;
    fill(&client, "password", STAFF_PASSWORD).await;
    click(&client, "main button[type=submit]").await;
    wait_for_heading(&client, "Kode fra appen").await;
    tour.check("code", "Kode fra appen", None).await;
    fill(&client, "code", &totp_code(&secret, 30)).await;
    click(&client, "main form button[type=submit]").await;
    wait_for_heading(&client, "Oversikt").await;

    // The dashboard last, with the send under way and the export.
    tour.visit("/admin", "dashboard", "Oversikt", Some("/admin"))
        .await;
    tour.assert_all_fit();
    client.close().await.unwrap();
}
