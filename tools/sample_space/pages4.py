"""Sample space, part 4: who may see what. Restricted subtrees in CORVID and the private People space (HR).

- "SRE handbook (internal)" is restricted to the group sre; its two children carry no restriction of
  their own and inherit it (a restricted parent).
- "Security reviews" is restricted to the group corvid-security; "Penetration tests" under it is not,
  nor is "Penetration test 2024: findings" under that (a restricted grandparent, an unrestricted parent).
- "Release signing ceremony" is restricted to two users (a user-only restriction).
- The People space (key HR) may be read by the group hr and by Mira Okafor only; inside it,
  "Compensation review process" is restricted to the group hr, so Mira cannot read that one.
"""

from __future__ import annotations

from tools.sample_space.kit import USERS, Doc, c, h, link, p, panel, table, tasks, ul, user

SRE_HANDBOOK = Doc(
    id="65680", title="SRE handbook (internal)", parent="65620", author="owen", labels=("sre", "internal"),
    created="2024-05-06T09:00:00.000Z", updated="2024-11-04T09:00:00.000Z", version=3,
    restrictions={"users": [], "groups": ["sre"]},
    body=h(1, "SRE handbook (internal)")
    + panel("note", p("Restricted to the sre group. Pages below inherit the restriction."))
    + p(f"How the SRE team works on Corvid day to day. Owner: {user('owen')}.")
    + ul([link("SRE game days"), link("SRE toil budget")]),
)

GAME_DAYS = Doc(
    id="65681", title="SRE game days", parent="65680", author="owen", labels=("sre", "game-day"),
    created="2024-05-06T10:00:00.000Z", updated="2024-10-14T10:00:00.000Z", version=4,
    body=h(1, "SRE game days")
    + p("We run a game day on the first Thursday of every quarter, in the staging-euc1 cluster. One "
        "engineer plays the chaos monkey and breaks a component without telling the others; the rest "
        "follow the runbooks as if it were production.")
    + table(["Quarter", "Scenario", "Outcome"],
            [["Q1 2024", "Keeper leader killed during a tenant migration", "recovered in 4 minutes"],
             ["Q2 2024", "Router nodes lose the Kafka brokers for 20 minutes", "dead-letter sink filled"],
             ["Q3 2024", "Expired S3 sink credentials", "alert fired after 9 minutes"]])
    + p(f"Book the next one in the {c('#sre-gameday')} channel at least two weeks ahead."),
)

TOIL_BUDGET = Doc(
    id="65682", title="SRE toil budget", parent="65680", author="kenji", labels=("sre",),
    created="2024-06-10T09:00:00.000Z", updated="2024-09-02T09:00:00.000Z", version=2,
    body=h(1, "SRE toil budget")
    + p("Manual, repetitive operations work may take at most 30 percent of an SRE's week. When the toil "
        "log shows more for two sprints in a row, the next sprint is spent automating the worst item.")
    + tasks([("Automate the WAL archive restore drill", True),
             ("Script the quarterly tenant quota review", False)], first_id=41),
)

SECURITY_REVIEWS = Doc(
    id="65685", title="Security reviews", parent="65660", author="fatima", labels=("security", "review"),
    created="2024-02-12T09:00:00.000Z", updated="2024-10-28T09:00:00.000Z", version=3,
    restrictions={"users": [], "groups": ["corvid-security"]},
    body=h(1, "Security reviews")
    + panel("note", p("Restricted to the corvid-security group, with everything below it."))
    + p("Design reviews, threat models and the yearly external penetration test.")
    + ul([link("Penetration tests")]),
)

PEN_TESTS = Doc(
    id="65686", title="Penetration tests", parent="65685", author="fatima", labels=("security",),
    created="2024-02-12T10:00:00.000Z", updated="2024-09-16T10:00:00.000Z", version=2,
    body=h(1, "Penetration tests")
    + p("An outside firm, Kestrel Assurance, tests the gateway, the admin API and Keeper once a year. "
        "Findings are tracked as SEC tickets and must be fixed within 30 days if rated high.")
    + ul([link("Penetration test 2024: findings")]),
)

PEN_TEST_2024 = Doc(
    id="65687", title="Penetration test 2024: findings", parent="65686", author="priya",
    labels=("security", "pentest"), created="2024-09-16T11:00:00.000Z", updated="2024-10-21T11:00:00.000Z",
    version=3,
    body=h(1, "Penetration test 2024: findings")
    + table(["Id", "Rating", "Finding", "Status"],
            [["SEC-311", "high", "The admin API accepted expired session cookies for 10 minutes", "fixed"],
             ["SEC-312", "medium", "Verbose stack traces on malformed gRPC frames", "fixed"],
             ["SEC-313", "low", "Missing Referrer-Policy header on the console", "open"]])
    + p("The one high finding, SEC-311, was fixed in 3.6.1 by checking the cookie expiry on every "
        "request instead of at login only."),
)

SIGNING_CEREMONY = Doc(
    id="65688", title="Release signing ceremony", parent="65670", author="tomasz", labels=("release",),
    created="2024-07-01T09:00:00.000Z", updated="2024-10-22T12:00:00.000Z", version=2,
    restrictions={"users": [USERS["tomasz"], USERS["fatima"]], "groups": []},
    body=h(1, "Release signing ceremony")
    + panel("note", p("Restricted to the release manager and the security lead."))
    + p(f"Release artefacts are signed on the offline laptop kept in safe 2 of the Gdansk office, by "
        f"{user('tomasz')} with {user('fatima')} watching. The signing key's passphrase is split in two "
        "halves, one per person."),
)

PEOPLE_HOME = Doc(
    id="68001", title="People Team", space="HR", author="helga", labels=("hr",),
    created="2024-01-08T09:00:00.000Z", updated="2024-08-05T09:00:00.000Z", version=2,
    body=h(1, "People Team")
    + p("The People team's private space: policies, processes and checklists for managers.")
    + ul([link("Parental leave policy"), link("Compensation review process"), link("New hire onboarding")]),
)

PARENTAL_LEAVE = Doc(
    id="68002", title="Parental leave policy", parent="68001", space="HR", author="helga",
    labels=("hr", "policy"), created="2024-01-08T10:00:00.000Z", updated="2024-06-03T10:00:00.000Z",
    version=3,
    body=h(1, "Parental leave policy")
    + p("Every parent, whatever their gender and however the child joins the family, gets 20 weeks of "
        "fully paid parental leave, to be taken within the child's first 18 months.")
    + p("Tell your manager and the People team at least 8 weeks before the leave starts."),
)

COMPENSATION = Doc(
    id="68003", title="Compensation review process", parent="68001", space="HR", author="jonas",
    labels=("hr", "compensation"), created="2024-02-05T09:00:00.000Z", updated="2024-09-09T09:00:00.000Z",
    version=2, restrictions={"users": [], "groups": ["hr"]},
    body=h(1, "Compensation review process")
    + panel("note", p("Restricted to the hr group: managers see their own team's proposals in the HR tool."))
    + p("Salaries are reviewed once a year, in March. The merit budget for 2025 is 4.5 percent of the "
        "payroll; proposals above 10 percent for one person need the CFO's sign-off."),
)

ONBOARDING = Doc(
    id="68004", title="New hire onboarding", parent="68001", space="HR", author="jonas",
    labels=("hr", "onboarding"), created="2024-03-04T09:00:00.000Z", updated="2024-07-15T09:00:00.000Z",
    version=2,
    body=h(1, "New hire onboarding")
    + tasks([("Order the laptop two weeks before the start date", True),
             ("Book the welcome lunch with the team on day one", True),
             ("Pair the new hire with an onboarding buddy for the first 90 days", False)], first_id=61),
)

DOCS = [SRE_HANDBOOK, GAME_DAYS, TOIL_BUDGET, SECURITY_REVIEWS, PEN_TESTS, PEN_TEST_2024, SIGNING_CEREMONY,
        PEOPLE_HOME, PARENTAL_LEAVE, COMPENSATION, ONBOARDING]
