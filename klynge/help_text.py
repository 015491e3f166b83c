"""The CLI's help in Danish and English: one place for every text a `--help` shows.

Typer fixes help strings when a command module is imported, in English (the
source's language). `klynge.localize` translates a built command tree into
the current language (`common.i18n`): every command's and option's help is
looked up in `HELP_DA` by its English text, so the source keeps one readable
text and the translation sits in one table a translator can review. A help
text without a Danish translation fails a test (`tests/cli/test_help.py`).
Typer's and click's own words (the usage line, panel titles, "[required]",
the help option, usage errors) are registered here too, under `cli.typer.`,
`cli.usage.` and `cli.click.`; the English `cli.click.` texts are click's and
pydantic's own, so `common.i18n.reword` recognises them.

No Typer here: `klynge --help` is rendered from these texts without it.
"""

from __future__ import annotations

from common.i18n import current_lang, register

register(
    {
        "cli.root": {
            "da": "Klynge: fødererede kvalitetsindikatorer for almen praksis.",
            "en": "Klynge: federated quality indicators for Danish general practice.",
        },
        "cli.opt.lang": {
            "da": "Sprog for meddelelser og rapporter: da eller en (standard da).",
            "en": "Language of messages and reports: da or en (default da).",
        },
        "cli.cmd.compute": {
            "da": "Beregn praksissens egne indikatorer lokalt.",
            "en": "Compute a practice's own indicators locally.",
        },
        "cli.cmd.indicators": {
            "da": "Vis indikatorkataloget.",
            "en": "Show the indicator catalogue.",
        },
        "cli.cmd.synth": {
            "da": "Lav syntetiske praksisudtræk og en føderationsfil.",
            "en": "Generate synthetic practice extracts and a federation file.",
        },
        "cli.cmd.manifest": {
            "da": "Opret, underskriv, kontroller og sammenlign protokolmanifester.",
            "en": "Create, sign, verify and compare protocol manifests.",
        },
        "cli.cmd.audit": {
            "da": "Revision: privatlivsrevision af et manifest og kontrol af loggen.",
            "en": "Audit: a manifest's privacy audit and checks of the log.",
        },
        "cli.cmd.pki": {
            "da": "Certifikatmyndighed for gensidig TLS.",
            "en": "Certificate authority for mutual TLS.",
        },
        "cli.cmd.server": {
            "da": "Kør og betjen den regionale koordinator.",
            "en": "Run and operate the regional coordinator.",
        },
        "cli.cmd.agent": {
            "da": "Praksisagenten: opsætning, kørsel og status.",
            "en": "The practice agent: set-up, running and status.",
        },
        "cli.cmd.demo": {
            "da": "Hele føderationen på én maskine, med rapporter.",
            "en": "The whole federation on one machine, with reports.",
        },
        "cli.cmd.report": {
            "da": "Rapporter for region, klynge og praksis.",
            "en": "Reports for region, cluster and practice.",
        },
        "cli.cmd.national": {
            "da": "Landstal: kontrollér regionernes publikationer og læg dem sammen.",
            "en": "National figures: verify the regions' publications and combine them.",
        },
        "cli.cmd.partner": {
            "da": "Partnere i sundhedsvæsenet: deres TLS-nøgle og de tal, manifestet giver dem.",
            "en": "Partners in the wider health system: their TLS key and the figures granted.",
        },
        "cli.cmd.fhir": {
            "da": (
                "FHIR R4: eksport af Measure, MeasureReport og udvidelser; "
                "import af Bundle og Bulk Data."
            ),
            "en": (
                "FHIR R4: Measure, MeasureReport and extension export; Bundle and Bulk Data import."
            ),
        },
        "cli.typer.options": {"da": "Tilvalg", "en": "Options"},
        "cli.typer.arguments": {"da": "Argumenter", "en": "Arguments"},
        "cli.typer.commands": {"da": "Kommandoer", "en": "Commands"},
        "cli.typer.error": {"da": "Fejl", "en": "Error"},
        "cli.typer.required": {"da": "[påkrævet]", "en": "[required]"},
        "cli.typer.default": {"da": "[standard: {{}}]", "en": "[default: {{}}]"},
        "cli.typer.try": {
            "da": "Prøv [blue]'{{command_path}} {{help_option}}'[/] for hjælp.",
            "en": "Try [blue]'{{command_path}} {{help_option}}'[/] for help.",
        },
        "cli.typer.help": {"da": "Vis denne hjælp og afslut.", "en": "Show this message and exit."},
        "cli.typer.envvar": {"da": "[miljøvariabel: {{}}]", "en": "[env var: {{}}]"},
        "cli.typer.deprecated": {"da": "(forældet) ", "en": "(deprecated) "},
        "cli.typer.aborted": {"da": "Afbrudt.", "en": "Aborted."},
        "cli.typer.usage": {"da": "Brug:", "en": "Usage:"},
        "cli.usage.options": {"da": "[TILVALG]", "en": "[OPTIONS]"},
        "cli.usage.command": {"da": "KOMMANDO [ARGUMENTER]...", "en": "COMMAND [ARGS]..."},
        "cli.usage.root": {
            "da": "[TILVALG] KOMMANDO [ARGUMENTER]...",
            "en": "[OPTIONS] COMMAND [ARGS]...",
        },
        "cli.opt.lang.metavar": {"da": "da|en", "en": "da|en"},
        "cli.bad.either": {"da": "skal være {a} eller {b}", "en": "must be {a} or {b}"},
        "cli.bad.needs": {"da": "kræver {option}", "en": "needs {option}"},
        "cli.bad.not_with": {
            "da": "kan ikke bruges sammen med {option}",
            "en": "cannot be combined with {option}",
        },
    }
)

# Usage errors. The English texts are click's and pydantic's own words ({fields} are
# what they fill in), so `common.i18n.reword` finds the Danish for a message click
# built; the more specific texts come first, since the first that matches is used.
register(
    {
        "cli.click.no_such_option": {"da": "ukendt tilvalg {name}", "en": "No such option: {name}"},
        "cli.click.possible": {
            "da": "(mulige tilvalg: {options})",
            "en": "(Possible options: {options})",
        },
        "cli.click.missing.option": {
            "da": "tilvalget {hint} mangler.",
            "en": "Missing option {hint}.",
        },
        "cli.click.missing.argument": {
            "da": "argumentet {hint} mangler.",
            "en": "Missing argument {hint}.",
        },
        "cli.click.missing.parameter": {
            "da": "parameteren {hint} mangler.",
            "en": "Missing parameter {hint}.",
        },
        "cli.click.invalid_for": {
            "da": "ugyldig værdi for {hint}: {message}",
            "en": "Invalid value for {hint}: {message}",
        },
        "cli.click.invalid": {"da": "ugyldig værdi: {message}", "en": "Invalid value: {message}"},
        "cli.click.try": {
            "da": "(se '{command} --help')",
            "en": "(see '{command} --help')",
        },
        "cli.click.did_you_mean": {
            "da": "{message}. Mente du {suggestions}?",
            "en": "{message}. Did you mean {suggestions}?",
        },
        "cli.click.no_command": {"da": "ukendt kommando {name}", "en": "No such command {name}"},
        "cli.click.missing_command": {"da": "en kommando mangler.", "en": "Missing command."},
        "cli.click.extra": {
            "da": "uventede ekstra argumenter ({args})",
            "en": "Got unexpected extra argument(s) ({args})",
        },
        "cli.click.needs_value": {
            "da": "tilvalget {name} skal have en værdi.",
            "en": "Option {name} requires an argument.",
        },
        "cli.click.needs_values": {
            "da": "tilvalget {name} skal have {n} værdier.",
            "en": "Option {name} requires {n} arguments.",
        },
        "cli.click.no_value": {
            "da": "tilvalget {name} tager ingen værdi.",
            "en": "Option {name} does not take a value.",
        },
        "cli.click.argument_values": {
            "da": "argumentet {name} skal have {n} værdier.",
            "en": "Argument {name} takes {n} values.",
        },
        "cli.click.choose": {"da": "Vælg mellem: {choices}", "en": "Choose from:{choices}"},
        "cli.click.not_valid": {
            "da": "{value} er ikke en gyldig værdi ({kind}).",
            "en": "Value {value} is not a valid {kind}.",
        },
        "cli.click.file_missing": {
            "da": "filen {name} findes ikke.",
            "en": "File {name} does not exist.",
        },
        "cli.click.dir_missing": {
            "da": "mappen {name} findes ikke.",
            "en": "Directory {name} does not exist.",
        },
        "cli.click.path_missing": {
            "da": "stien {name} findes ikke.",
            "en": "Path {name} does not exist.",
        },
        "cli.click.is_file": {"da": "{name} er en fil.", "en": "{kind} {name} is a file."},
        "cli.click.is_dir": {"da": "{name} er en mappe.", "en": "{kind} {name} is a directory."},
        "cli.click.unreadable": {
            "da": "{name} kan ikke læses.",
            "en": "{kind} {name} is not readable.",
        },
        "cli.click.unwritable": {
            "da": "{name} kan ikke skrives.",
            "en": "{kind} {name} is not writable.",
        },
        "cli.click.int": {
            "da": "skal være et heltal",
            "en": "Input should be a valid integer, unable to parse string as an integer",
        },
        "cli.click.int_fraction": {
            "da": "skal være et heltal",
            "en": "Input should be a valid integer, got a number with a fractional part",
        },
        "cli.click.number": {
            "da": "skal være et tal",
            "en": "Input should be a valid number, unable to parse string as a number",
        },
        "cli.click.bool": {
            "da": "skal være sand eller falsk",
            "en": "Input should be a valid boolean, unable to interpret input",
        },
        "cli.click.ge": {
            "da": "skal være mindst {n}",
            "en": "Input should be greater than or equal to {n}",
        },
        "cli.click.le": {
            "da": "må højst være {n}",
            "en": "Input should be less than or equal to {n}",
        },
        "cli.click.gt": {
            "da": "skal være større end {n}",
            "en": "Input should be greater than {n}",
        },
        "cli.click.lt": {"da": "skal være mindre end {n}", "en": "Input should be less than {n}"},
    }
)

# English help text as written in klynge/commands/ -> Danish. Keys are the English texts
# exactly as Typer holds them (a docstring's lines, cleaned); a test walks every command
# and option and fails on one missing here or left in English.
HELP_DA: dict[str, str] = {
    "Add a few bad survey answers per practice, one per skip rule.": (
        "Tilføj nogle få forkerte spørgeskemasvar pr. praksis, ét pr. frasorteringsregel."
    ),
    "Sign a practice's or a partner's certificate request: its own key, its id, nothing else.": (
        "Underskriv en praksis' eller en partners certifikatanmodning: dens egen nøgle, dens id, "
        "intet andet."
    ),
    "The certificate request (PEM) to sign.": "Certifikatanmodningen (PEM), der skal underskrives.",
    "The practice that sent the request; the request must name it.": (
        "Den praksis, der sendte anmodningen; anmodningen skal nævne den."
    ),
    "Federation TOML; the practice must be one of its [[practices]].": (
        "Føderationens TOML-fil; praksissen skal være en af dens [[practices]]."
    ),
    "The partner that sent the request; the request must name it.": (
        "Den partner, der sendte anmodningen; anmodningen skal nævne den."
    ),
    "Signed manifest; the partner must be one of its [[partners]].": (
        "Det underskrevne manifest; partneren skal være en af dets [[partners]]."
    ),
    "Where to write the certificate (never overwritten).": (
        "Hvor certifikatet skrives (overskrives aldrig)."
    ),
    "The partner's id, as in [[partners]].": "Partnerens id, som i [[partners]].",
    "Make this partner's TLS key here, and a certificate request for the region to sign.": (
        "Lav partnerens TLS-nøgle her og en certifikatanmodning, som regionen underskriver."
    ),
    "The partner's PKI directory; the key goes to partners/ID.key.": (
        "Partnerens PKI-mappe; nøglen skrives som ID.key i dens undermappe partners."
    ),
    "Make this practice's TLS key here, and a certificate request for the region to sign.": (
        "Lav praksissens TLS-nøgle her og en certifikatanmodning, som regionen underskriver."
    ),
    "The practice's PKI directory; the key goes to practices/ID.key.": (
        "Praksissens PKI-mappe; nøglen skrives som ID.key i dens undermappe for praksis."
    ),
    "Practice id (as in the federation).": "Praksis-id (som i føderationen).",
    "Where to write the request (default: beside the key, ID.csr).": (
        "Hvor anmodningen skrives (standard: ved siden af nøglen, ID.csr)."
    ),
    "Replace an existing key and request (a renewal).": (
        "Erstat en eksisterende nøgle og anmodning (en fornyelse)."
    ),
    "Run a demo federation: a real coordinator and agents over gRPC with mutual TLS.\n\nOn one "
    "machine the demo's CA makes every practice's TLS key. On their own\nmachines practices "
    "make their keys themselves and send a certificate\nrequest (klynge agent keygen, klynge "
    "pki sign; docs/runbook-practice.md).": (
        "Kør en demoføderation: en rigtig koordinator og agenter over gRPC med gensidig "
        "TLS.\n\nPå én maskine laver demoens CA hver praksis' TLS-nøgle. På deres egne\nmaskiner "
        "laver praksis selv deres nøgler og sender en certifikatanmodning\n(klynge agent keygen, "
        "klynge pki sign; docs/runbook-practice.md)."
    ),
    "The coordinator's state_dir: show the imported national release too.": (
        "Koordinatorens state_dir: vis også den importerede nationale udgivelse."
    ),
    "Partners in the wider health system: their TLS key and the figures they are granted.": (
        "Partnere i det øvrige sundhedsvæsen: deres TLS-nøgle og de tal, de har fået adgang til."
    ),
    "Fetch the partner's grant over mutual TLS; write JSON, FHIR MeasureReports and HTML.": (
        "Hent partnerens tal over gensidig TLS; skriv JSON, FHIR MeasureReports og HTML."
    ),
    "The partner's partner.toml.": "Partnerens partner.toml.",
    "da or en (default: klynge --lang).": "da eller en (standard: klynge --lang).",
    "Only this level (cluster or region); default: every granted one.": (
        "Kun dette niveau (klynge eller region); standard: alle tildelte."
    ),
    "Only this cluster or region (repeatable); default: every granted.": (
        "Kun denne klynge eller region (kan gentages); standard: alle tildelte."
    ),
    "Only this indicator (repeatable); default: every granted one.": (
        "Kun denne indikator (kan gentages); standard: alle tildelte."
    ),
    "Compute this practice's indicators from its own extract, locally.": (
        "Beregn praksissens indikatorer lokalt ud fra dens eget udtræk."
    ),
    "Directory with the extract (CSV or Parquet).": "Mappe med udtrækket (CSV eller Parquet).",
    "Reference date, YYYY-MM-DD.": "Referencedato, ÅÅÅÅ-MM-DD.",
    "Print one JSON object to stdout.": "Skriv ét JSON-objekt til standardoutput.",
    "Only these ids.": "Kun disse id’er.",
    "Treat extract warnings as errors.": "Behandl advarsler om udtrækket som fejl.",
    "Show the indicator catalogue.": "Vis indikatorkataloget.",
    "List every indicator with its title and content hash.": (
        "Vis alle indikatorer med titel og indholds-hash."
    ),
    "Show one definition in words.": "Vis én definition i ord.",
    "Generate synthetic practices: federation.toml and one extract per practice.": (
        "Lav syntetiske praksisser: federation.toml og ét udtræk pr. praksis."
    ),
    "Output directory (empty, new, or a previous synth output).": (
        "Mappe til resultatet (tom, ny eller et tidligere synth-resultat)."
    ),
    "Number of practices.": "Antal praksisser.",
    "Number of clusters.": "Antal klynger.",
    "Random seed (same seed, same files).": (
        "Startværdi for tilfældigheder (samme værdi, samme filer)."
    ),
    "List size of every practice (default: realistic, varying by practice).": (
        "Listestørrelse for hver praksis (standard: realistisk og forskellig fra praksis til "
        "praksis)."
    ),
    "Years of history in each extract.": "År med historik i hvert udtræk.",
    "Extract format: csv or parquet.": "Udtrækkets format: csv eller parquet.",
    "Extract date, YYYY-MM-DD (fixed default keeps output reproducible).": (
        "Udtræksdato, ÅÅÅÅ-MM-DD (den faste standard gør resultatet reproducerbart)."
    ),
    "Create, sign, verify and compare protocol manifests.": (
        "Opret, underskriv, kontrollér og sammenlign protokolmanifester."
    ),
    "Create an Ed25519 manifest-authority key pair.": (
        "Opret et Ed25519-nøglepar til manifestmyndigheden."
    ),
    "Private key file to create (mode 0600).": "Fil til den private nøgle (rettigheder 0600).",
    "Public key file (default: next to --out, ending .pub.pem).": (
        "Fil til den offentlige nøgle (standard: ved siden af --out, med endelsen .pub.pem)."
    ),
    "Write an unsigned manifest pinned to the installed indicator definitions.": (
        "Skriv et uunderskrevet manifest, der er låst til de installerede indikatordefinitioner."
    ),
    "File to write (default: print).": "Fil, der skal skrives (standard: udskriv).",
    "Start from this manifest instead of the shipped default.": (
        "Tag udgangspunkt i dette manifest i stedet for standardmanifestet."
    ),
    "Manifest id.": "Manifestets id.",
    "Manifest version.": "Manifestets version.",
    "Replace the schedule by quarter ends of this year (repeatable).": (
        "Erstat tidsplanen med kvartalsafslutningerne i dette år (kan gentages)."
    ),
    "Overwrite --out if it exists.": "Overskriv --out, hvis den findes.",
    (
        "Verification manifest: mechanism none, exact sums, NO differential privacy (ε = ∞). For "
        "checking with synthetic data only."
    ): (
        "Verifikationsmanifest: ingen mekanisme, eksakte summer, INGEN differential privacy (ε "
        "= ∞). Kun til kontrol med syntetiske data."
    ),
    "Embed the authority's Ed25519 signature over the manifest's canonical form.": (
        "Indlejr myndighedens Ed25519-signatur over manifestets kanoniske form."
    ),
    "The authority's private key (PEM).": "Myndighedens private nøgle (PEM).",
    "Write here instead of in place.": "Skriv hertil i stedet for i selve filen.",
    "Check the signature (with --key) or everything the agent checks (with --trust-dir).": (
        "Kontrollér signaturen (med --key) eller alt, hvad agenten kontrollerer (med --trust-dir)."
    ),
    "Authority public key (PEM).": "Myndighedens offentlige nøgle (PEM).",
    "Agent trust store: run every check the agent runs.": (
        "Agentens tillidslager: udfør alle de kontroller, agenten udfører."
    ),
    "Check validity on this date (default today).": (
        "Kontrollér gyldigheden på denne dato (standard i dag)."
    ),
    "Show exactly what changed in meaning between two manifests.": (
        "Vis præcis, hvad der har ændret betydning mellem to manifester."
    ),
    "Machine-readable output.": "Maskinlæsbart output.",
    "Print the canonical hash (what practices approve and receipts name).": (
        "Udskriv den kanoniske hash (den, praksisserne godkender, og kvitteringerne nævner)."
    ),
    "Add a manifest authority's public key to an agent's trust store.": (
        "Føj en manifestmyndigheds offentlige nøgle til en agents tillidslager."
    ),
    "The agent's trust store.": "Agentens tillidslager.",
    "Who holds the key, e.g. the region's authority.": (
        "Hvem der har nøglen, f.eks. regionens myndighed."
    ),
    "Record the practice's approval of this exact manifest (it must be validly signed).": (
        "Registrér praksissens godkendelse af netop dette manifest (det skal være gyldigt "
        "underskrevet)."
    ),
    "Who in the practice management approves.": "Hvem i praksisledelsen der godkender.",
    "Withdraw the practice's approval (opt-out): the agent joins no further rounds under it.": (
        "Træk praksissens godkendelse tilbage (fravalg): agenten deltager ikke i flere runder "
        "under manifestet."
    ),
    "Reviewer's audit report (klynge audit MANIFEST) and log verification.": (
        "Revisorens rapport (klynge audit MANIFEST) og kontrol af loggen."
    ),
    "Render the reviewer's report for MANIFEST: all 9 checklist points and the Art. 30 annex.": (
        "Lav revisorens rapport for MANIFEST: alle 9 punkter på tjeklisten og bilaget efter "
        "art. 30."
    ),
    "A practice's ledger directory.": "En praksis’ mappe med privatlivsregnskabet.",
    "A transparency log to verify.": "En gennemsigtighedslog, der skal kontrolleres.",
    "The coordinator's log public key (with --log).": (
        "Koordinatorens offentlige lognøgle (med --log)."
    ),
    "md, html or json.": "md, html eller json.",
    "Write here (default: print).": "Skriv hertil (standard: udskriv).",
    "da or en (default: klynge --lang, else da).": (
        "da eller en (standard: klynge --lang, ellers da)."
    ),
    "Authority public key to check the signature.": (
        "Myndighedens offentlige nøgle til kontrol af signaturen."
    ),
    "Check the signature against this trust store's authorities.": (
        "Kontrollér signaturen mod myndighederne i dette tillidslager."
    ),
    (
        "Verify a transparency log offline: every entry, practice signature and signed tree head.\n"
        "\n"
        "Detects edited, inserted, deleted and moved entries, forged receipts, a torn or cut\n"
        "file, heads signed by another key; with --expect-head also a log cut back or rewritten."
    ): (
        "Kontrollér en gennemsigtighedslog uden netforbindelse: hver post, hver "
        "praksissignatur og hvert underskrevet træhoved.\n"
        "\n"
        "Finder rettede, indsatte, slettede og flyttede poster, forfalskede kvitteringer, en\n"
        "afrevet eller afkortet fil og hoveder underskrevet med en anden nøgle; med "
        "--expect-head\n"
        "også en log, der er skåret tilbage eller skrevet om."
    ),
    "The coordinator's log public key: every head must be its.": (
        "Koordinatorens offentlige lognøgle: hvert hoved skal være underskrevet med den."
    ),
    "SIZE:ROOT of a head seen or published earlier; the log must extend it.": (
        "STØRRELSE:ROD for et hoved, der er set eller offentliggjort tidligere; loggen skal "
        "bygge videre på det."
    ),
    "Signed practice registry: receipts must be its practices' keys.": (
        "Underskrevet praksisregister: kvitteringerne skal være underskrevet med dets "
        "praksissers nøgler."
    ),
    "The registry authority's public key (with --registry).": (
        "Registermyndighedens offentlige nøgle (med --registry)."
    ),
    "Demo certificate authority for mutual TLS.": "Demo-certifikatmyndighed til gensidig TLS.",
    "Create the demo CA and the coordinator's certificate.": (
        "Opret demo-certifikatmyndigheden og koordinatorens certifikat."
    ),
    "PKI directory (created if missing).": "PKI-mappe (oprettes, hvis den mangler).",
    "Name or IP the coordinator is reached at (repeatable).": (
        "Navn eller IP-adresse, koordinatoren nås på (kan gentages)."
    ),
    "Server certificate validity.": "Servercertifikatets gyldighed.",
    "Show the CA, server, practice and partner certificates with fingerprints.": (
        "Vis certifikaterne for certifikatmyndighed, server, praksisser og partnere med "
        "fingeraftryk."
    ),
    "Run the regional coordinator.": "Kør den regionale koordinator.",
    "Run the coordinator until stopped (or until its scheduled rounds end).": (
        "Kør koordinatoren, til den stoppes (eller til dens planlagte runder er slut)."
    ),
    "The coordinator's server.toml.": "Koordinatorens server.toml.",
    (
        "Ask the running coordinator for a round and print its answer; exits non-zero when\n"
        "it refuses (unknown cluster or region, a date off the manifest's schedule, a period\n"
        "already running or released) or does not answer."
    ): (
        "Bed den kørende koordinator om en runde og udskriv dens svar; afslutter med en\n"
        "fejlkode, når den afviser (ukendt klynge eller region, en dato uden for manifestets\n"
        "tidsplan, en periode, der allerede kører eller er udgivet) eller ikke svarer."
    ),
    "A region-wide round (on a date the manifest lists for one).": (
        "En runde for hele regionen (på en dato, manifestet angiver til det)."
    ),
    "Seconds to wait for the coordinator's answer.": "Sekunder at vente på koordinatorens svar.",
    "Show the rounds and releases in the coordinator's store.": (
        "Vis runderne og udgivelserne i koordinatorens lager."
    ),
    (
        "Create the coordinator's transparency-log key; its public key goes into every agent.toml\n"
        "(`[coordinator] log_key`), so agents can check the log's signed tree heads."
    ): (
        "Opret koordinatorens nøgle til gennemsigtighedsloggen; den offentlige nøgle skrives "
        "i\n"
        "hver agent.toml (`[coordinator] log_key`), så agenterne kan kontrollere loggens\n"
        "underskrevne træhoveder."
    ),
    "Private key file to write (0600).": "Fil til den private nøgle (0600).",
    (
        "Sign the practice registry from the practices' public identity keys (`identity.pub`,\n"
        "which `klynge agent init` writes) and the federation file; no private key of a practice\n"
        "is needed on the region's machine."
    ): (
        "Underskriv praksisregistret ud fra praksissernes offentlige identitetsnøgler\n"
        "(`identity.pub`, som `klynge agent init` skriver) og føderationsfilen; ingen "
        "praksis’\n"
        "private nøgle behøver at være på regionens maskine."
    ),
    "Registry file to write (.sig beside it).": (
        "Registerfil, der skal skrives (.sig ved siden af)."
    ),
    "Registry authority's private key (PKCS#8 PEM, 0600).": (
        "Registermyndighedens private nøgle (PKCS#8 PEM, 0600)."
    ),
    "federation.toml: each practice's cluster and region.": (
        "federation.toml: hver praksis’ klynge og region."
    ),
    "Folder of PRACTICE.pub files the practices sent.": (
        "Mappe med de PRAKSIS.pub-filer, praksisserne har sendt."
    ),
    "PRACTICE=FILE: one practice's public key (PEM or hex).": (
        "PRAKSIS=FIL: én praksis’ offentlige nøgle (PEM eller hex)."
    ),
    "Issue date (default today).": "Udstedelsesdato (standard i dag).",
    "Write a commented server.toml for a new coordinator (never over an existing file).": (
        "Skriv en kommenteret server.toml til en ny koordinator (aldrig oven i en eksisterende "
        "fil)."
    ),
    "Configuration file to write.": "Konfigurationsfil, der skal skrives.",
    "HOST:PORT the coordinator listens on (agents dial it).": (
        "VÆRT:PORT, koordinatoren lytter på (agenterne ringer op til den)."
    ),
    "Write the region's region-level releases of a period, with log proofs, for the nation.": (
        "Skriv regionens udgivelser på regionsniveau for en periode, med logbeviser, til landsplan."
    ),
    "Publication file to write.": "Publikationsfil, der skal skrives.",
    "If the federation has several.": "Hvis føderationen har flere.",
    "Check the national publication (signature, manifest) and serve it to the agents.": (
        "Kontrollér den nationale publikation (signatur, manifest) og stil den til rådighed "
        "for agenterne."
    ),
    "The national body's national.json.": "Den nationale myndigheds national.json.",
    "The national body's public key file.": "Den nationale myndigheds offentlige nøglefil.",
    "The practice agent: take part in rounds, show its status, set it up.": (
        "Praksisagenten: deltag i runder, vis dens status, sæt den op."
    ),
    "Take part in rounds until stopped (SIGINT/SIGTERM) or, with --once, one round each.": (
        "Deltag i runder, til agenten stoppes (SIGINT/SIGTERM), eller med --once i én runde hver."
    ),
    "agent.toml of a practice (repeat to run several in one process).": (
        "En praksis’ agent.toml (gentag for at køre flere i én proces)."
    ),
    "Exit after one round outcome per agent (and its downloads).": (
        "Afslut efter ét rundeudfald pr. agent (og dens hentninger)."
    ),
    "With --once: give up (exit non-zero) after this many s.": (
        "Med --once: giv op (afslut med fejlkode) efter så mange sekunder."
    ),
    "debug, info, warning or error.": "debug, info, warning eller error.",
    "json (one object per line) or text (readable lines).": (
        "json (ét objekt pr. linje) eller text (læsbare linjer)."
    ),
    "PRACTICE:STAGE: vanish after that stage (demo).": (
        "PRAKSIS:FASE: forsvind efter den fase (demo)."
    ),
    "PRACTICE:STAGE: fall silent after it (tests).": "PRAKSIS:FASE: bliv tavs efter den (test).",
    "Connection, last round, budget left and last receipt of a practice's agent.": (
        "Forbindelse, seneste runde, resterende budget og seneste kvittering for en praksis’ agent."
    ),
    "The practice's agent.toml.": "Praksissens agent.toml.",
    "Create an agent directory: identity key, trust store with approvals, ledger, agent.toml.": (
        "Opret en agentmappe: identitetsnøgle, tillidslager med godkendelser, "
        "privatlivsregnskab og agent.toml."
    ),
    "Agent directory to create.": "Agentmappe, der skal oprettes.",
    "Practice id (as in its certificate).": "Praksissens id (som i dens certifikat).",
    "Cluster id.": "Klyngens id.",
    "Region, listed in the registry: its region-wide rounds.": (
        "Regionen, som den står i registret: dens runder for hele regionen."
    ),
    "The practice's extract directory.": "Praksissens mappe med udtræk.",
    "PKI directory (`klynge pki`).": "PKI-mappe (`klynge pki`).",
    "Signed manifest to approve.": "Underskrevet manifest, der skal godkendes.",
    "The manifest authority's public key (PEM).": "Manifestmyndighedens offentlige nøgle (PEM).",
    "Where the signed registry will be.": "Hvor det underskrevne register kommer til at ligge.",
    "Registry authority public key: hex, or a file.": (
        "Registermyndighedens offentlige nøgle: hex eller en fil."
    ),
    "The coordinator's transparency-log public key: hex, or a file.": (
        "Koordinatorens offentlige nøgle til gennemsigtighedsloggen: hex eller en fil."
    ),
    "Who in the practice approves.": "Hvem i praksis der godkender.",
    "HOST:PORT to dial.": "VÆRT:PORT, der skal ringes op til.",
    "File the coordinator writes its port to.": "Fil, som koordinatoren skriver sin port i.",
    "Approval date (default today).": "Godkendelsesdato (standard i dag).",
    (
        "Rebuild the privacy ledger from this practice's signed receipts in the coordinator's\n"
        "transparency log (after a restore from an older copy, or a deleted ledger). Every proof\n"
        "and signature is checked; the old file is kept."
    ): (
        "Genopbyg privatlivsregnskabet ud fra praksissens underskrevne kvitteringer i\n"
        "koordinatorens gennemsigtighedslog (efter gendannelse fra en ældre kopi eller et\n"
        "slettet regnskab). Hvert bevis og hver signatur kontrolleres; den gamle fil beholdes."
    ),
    "Sign the practice registry from the agents' identity keys.": (
        "Underskriv praksisregistret ud fra agenternes identitetsnøgler."
    ),
    "agent.toml of each practice.": "Hver praksis’ agent.toml.",
    (
        "Write the practice's own report: own rates against cluster and region, its place among\n"
        "the practices, its trend over periods, patient lists, receipts and budget. Computed\n"
        "locally; nothing is sent."
    ): (
        "Skriv praksissens egen rapport: egne andele over for klynge og region, placeringen\n"
        "blandt praksisserne, udviklingen over perioder, patientlister, kvitteringer og\n"
        "budget. Beregnes lokalt; intet sendes."
    ),
    "HTML file to write (kept at the practice).": "HTML-fil, der skal skrives (bliver i praksis).",
    "Reference date (default: that of the newest downloaded cluster release, else today).": (
        "Referencedato (standard: datoen for den nyeste hentede klyngeudgivelse, ellers i dag)."
    ),
    "da or en (default da).": "da eller en (standard da).",
    (
        "Download the country's figures now (the national release the region imported), for\n"
        "the practice report's country column. A Fetch only: no round, no budget."
    ): (
        "Hent landstallene nu (den nationale udgivelse, regionen har importeret) til\n"
        "praksisrapportens kolonne for hele landet. Kun en hentning: ingen runde, intet budget."
    ),
    "Output directory.": "Mappe til resultatet.",
    "Exact sums, no noise (for checking).": "Eksakte summer, ingen støj (til kontrol).",
    "Share of practices that vanish mid-round.": (
        "Andel af praksisser, der forsvinder midt i en runde."
    ),
    "List size per practice.": "Listestørrelse pr. praksis.",
    "Seconds per stage.": "Sekunder pr. fase.",
    "Quarters to backfill from the synthetic history.": (
        "Kvartaler, der udfyldes bagud fra den syntetiske historik."
    ),
    "Write the deployment (keys, configs) and stop.": (
        "Skriv opsætningen (nøgler, konfigurationer) og stop."
    ),
    "Regions, each its own coordinator; with 2 or more, the national step too.": (
        "Regioner med hver sin koordinator; med 2 eller flere også det nationale trin."
    ),
    "With --prepare-only: agents dial HOST:50051 (see docker/compose.yaml).": (
        "Med --prepare-only: agenterne ringer op til VÆRT:50051 (se docker/compose.yaml)."
    ),
    "Benchmark reports (HTML) from the coordinator's store.": (
        "Sammenligningsrapporter (HTML) fra koordinatorens lager."
    ),
    "The region first, then every cluster of the period beside it (and the country).": (
        "Først regionen, derefter hver af periodens klynger ved siden af den (og hele landet)."
    ),
    "The coordinator's SQLite store.": "Koordinatorens SQLite-lager.",
    "Reference date (default: the latest).": "Referencedato (standard: den seneste).",
    "HTML file to write.": "HTML-fil, der skal skrives.",
    "The coordinator's state_dir: show the imported national release beside the region.": (
        "Koordinatorens state_dir: vis den importerede nationale udgivelse ved siden af regionen."
    ),
    "One cluster beside its region and the target, for the cluster meeting.": (
        "Én klynge ved siden af dens region og målet, til klyngemødet."
    ),
    "Cluster id, e.g. K01.": "Klyngens id, f.eks. K01.",
    "FHIR R4: Measure, MeasureReport and extension export; Bundle and Bulk Data import.": (
        "FHIR R4: eksport af Measure, MeasureReport og udvidelser; import af Bundle og Bulk Data."
    ),
    "Export Klynge's FHIR extensions as R4 StructureDefinitions, for receivers to validate.": (
        "Eksportér Klynges FHIR-udvidelser som R4 StructureDefinitions, så modtagere kan "
        "validere dem."
    ),
    "Directory for one StructureDefinition JSON per Klynge extension.": (
        "Mappe til én StructureDefinition-JSON-fil pr. Klynge-udvidelse."
    ),
    "Export each indicator and survey measure as an R4 Measure, each survey as a Questionnaire.": (
        "Eksportér hver indikator og hvert spørgeskemamål som en R4 Measure, hvert spørgeskema "
        "som et Questionnaire."
    ),
    "Directory for one Measure JSON per indicator and survey measure, and the survey's "
    "Questionnaire.": (
        "Mappe til én Measure-JSON-fil pr. indikator og spørgeskemamål, og spørgeskemaets "
        "Questionnaire."
    ),
    "Canonical base URL.": "Kanonisk basis-URL.",
    "Export every release in results.json as a Bundle of summary MeasureReports.": (
        "Eksportér hver udgivelse i results.json som en Bundle af opsummerende MeasureReports."
    ),
    "results.json written by `klynge demo`.": "results.json skrevet af `klynge demo`.",
    "Directory for one Bundle per release.": "Mappe til én Bundle pr. udgivelse.",
    "Convert a practice's FHIR data into a validated extract, with a report of every resource.": (
        "Omsæt en praksis’ FHIR-data til et kontrolleret udtræk med en rapport over hver ressource."
    ),
    "Bundles (.json), NDJSON files or Bulk Data $export folders of one practice.": (
        "Bundles (.json), NDJSON-filer eller Bulk Data-$export-mapper fra én praksis."
    ),
    "Extract directory to write (schema v1).": "Udtræksmappe, der skal skrives (skema v1).",
    "csv or parquet.": "csv eller parquet.",
    "A Group resource (JSON) naming the practice's listed patients.": (
        "En Group-ressource (JSON), der angiver praksissens tilmeldte patienter."
    ),
    "Which Group is the list, if several.": "Hvilken Group der er listen, hvis der er flere.",
    "Also write the import report as JSON.": "Skriv også importrapporten som JSON.",
    "Fail if more than this share of patients must be skipped (at least 5 may be).": (
        "Stop med en fejl, hvis mere end denne andel af patienterne skal springes over (5 må "
        "dog altid)."
    ),
    "Combine the regions' publications into national figures.": (
        "Læg regionernes publikationer sammen til landstal."
    ),
    "Verify each region's publication and write the country's figures and reports.": (
        "Kontrollér publikationen fra hver region og skriv landstallene og rapporterne."
    ),
    "The regions' publication files.": "Regionernes publikationsfiler.",
    "Trust file: region log keys, authorities.": (
        "Tillidsfil: regionernes lognøgler og myndigheder."
    ),
    "The national body's private signing key.": "Den nationale myndigheds private signeringsnøgle.",
    "Create the national body's signing key; the regions import with its public key.": (
        "Opret den nationale myndigheds signeringsnøgle; regionerne importerer med dens "
        "offentlige nøgle."
    ),
}

# Typer's names of value types, shown beside each option (<str>, <int range>, <path>).
TYPES_DA: dict[str, str] = {
    "str": "tekst",
    "int": "heltal",
    "int range": "heltal",
    "float": "tal",
    "float range": "tal",
    "bool": "ja/nej",
    "path": "sti",
    "file": "fil",
    "directory": "mappe",
    "datetime": "tidspunkt",
}


def translate(text: str | None) -> str | None:
    """`text` in the current language (unchanged in English, or when no translation exists)."""
    if text is None or current_lang() == "en":
        return text
    return HELP_DA.get(text.strip(), text)


def translate_type(shown: str | None) -> str | None:
    """Typer's type label ("<int range>") in the current language ("<heltal>")."""
    if shown is None or current_lang() == "en" or not shown.startswith("<"):
        return shown
    label = shown.strip("<>")
    if label.startswith("list[") and label.endswith("]"):
        inner = label[5:-1].lower()
        return f"<liste[{TYPES_DA.get(inner, inner)}]>"
    return f"<{TYPES_DA.get(label, label)}>"
