#!/usr/bin/env python3
"""Convert MailTrackerBlocker's tracker dictionary into pixscan rules (rules/mtb.toml).

Usage (from the repository root):
    python3 scripts/convert_mtb.py PATH/TO/getTrackerDict.m.txt [OUT.toml]

Default output: rules/mtb.toml. Input: MailTrackerBlocker v0.8.10 `getTrackerDict` (BSD-3-Clause,
licence kept at rules/licenses/mailtrackerblocker.LICENSE), an Objective-C dictionary
`@{ @"Vendor": @[ @"regex", ... ], ... }` whose regexes MailTrackerBlocker matches,
case-insensitively, against the whole text of an `<img ...>` tag.

pixscan matches URLs, so each regex is split into a host part and a path part:
  * host (+ path prefix), e.g. `t.ionos.com/oms_p/` -> an open-pixel [[endpoint]] with
    hosts = ["t.ionos.com"] and an anchored path regex `(?i)^/oms_p/`. A registrable domain
    becomes ["x.com", "*.x.com"], any other host is kept exact; a leading "." (`.user.com/...`)
    means "any subdomain". A `\\?key=` part becomes `query_has` and anchors the path with `$`.
  * a bare host (no path), e.g. `actonsoftware.com` -> no endpoint: the domain is added to the
    vendor entity's `domains` (so pixscan names the vendor; tracking is decided by other signals).
  * a path-only regex, e.g. `/open/log/` -> a path-shape endpoint (no hosts) only if it is
    specific enough not to hit ordinary images on any host: at least two literal path
    components, or a distinctive query parameter. Others are listed at the end of the output as
    "not converted (too generic)".
  * regexes already covered by an endpoint of rules/mail.toml (same platform, equal or broader
    host rule, or a deliberately stricter path shape) are not repeated; they are listed with the
    covering rule id.
The cases the rules above cannot settle (regex hosts, fragments, known mislabels, duplicates) are
decided one by one in DECISIONS below, each with its reason.

Entities: a vendor that is already an entity of rules/*.toml (same or an obviously equal name, or
the owner of the host by its domains) is referenced by that name, never redefined. A bare-host
domain for such an entity is added by a domains-only [[entity]] block with the same name and the
same category (the loader merges same-name entities). Other vendors become new entities
(category "email-marketing", or "sales-tracking" for one-to-one sales / mail-client trackers).

Rule ids are "mtb-<vendor-slug>-<n>", n = 1-based position of the regex in the vendor's list in
MailTrackerBlocker (so ids stay stable when other regexes of the vendor change; numbers of
regexes that were not converted are skipped).

Python 3.11+ standard library only; the output is deterministic (it depends only on the input
file and on the other rules/*.toml files, which it reads to find existing entities and rules).
"""

import os
import re
import sys
import tomllib

SOURCE_NAME = "MailTrackerBlocker"
SOURCE_VERSION = "v0.8.10"
SOURCE_URL = "https://github.com/apparition47/MailTrackerBlocker"
SOURCE_FILE = "getTrackerDict.m"
LICENCE = "BSD-3-Clause, Copyright (c) 2020, Aaron Lee - see licenses/mailtrackerblocker.LICENSE"
EXPECTED_VENDORS = 316
EXISTING_FILES = ["entities.toml", "mail.toml", "site.toml"]  # load order of the embedded set

# --------------------------------------------------------------------------------------------
# Vendor -> entity
# --------------------------------------------------------------------------------------------

# MTB vendor name -> existing entity (rules/entities.toml, mail.toml, site.toml) with the same or
# an obviously equal name. Used when the regex's host is not already owned by an entity.
ALIASES = {
    "ActiveCampaign": "ActiveCampaign",
    "Act-On": "Act-On Software",
    "Acoustic": "Acoustic",
    "Adobe": "Adobe Experience Cloud",
    "Amazon SES": "Amazon SES",
    "Autopilot": "Autopilot",
    "AWeber": "AWeber",
    "Bazaarvoice": "Bazaarvoice",
    "beehiiv": "Beehiiv",
    "Bloomreach": "Exponea",              # Bloomreach acquired Exponea
    "Blueshift.com": "Blueshift",
    "Campaign Monitor": "Campaign Monitor",
    "Litmus": "Litmus",
    "Locaweb": "Locaweb",
    "Cheetah Digital": "CheetahMail",     # Cheetah Digital = formerly CheetahMail
    "Constant Contact": "Constant Contact",
    "ConvertKit": "Kit",
    "Cordial": "Cordial",
    "Customer.io": "Customer.io",
    "DotDigital": "dotdigital",
    "Dropbox": "Dropbox",
    "eBay": "eBay",
    "eGain": "eGain",
    "Emarsys": "Emarsys",
    "Epsilon": "Epsilon",
    "EventBrite": "Eventbrite",
    "GetResponse": "GetResponse",
    "GitHub": "GitHub",
    "Gmass": "GMass",
    "GoDaddy": "GoDaddy",
    "HubSpot": "HubSpot",
    "iContact": "iContact",
    "Indeed": "Indeed",
    "Infusion Software": "Infusionsoft",  # Keap = renamed Infusionsoft
    "Integral Ad Science": "Integral Ad Science",
    "Intercom": "Intercom",
    "Intuit": "Mailchimp",
    "Iterable": "Iterable",
    "Klaviyo": "Klaviyo",
    "LinkedIn": "LinkedIn",
    "Liveclicker": "LiveClicker",
    "MailerLite": "MailerLite",
    "Mailgun": "Mailgun",
    "Mailjet": "Mailjet",
    "MailTrack": "Mailtrack",
    "Meta": "Facebook",
    "MixMax": "Mixmax",
    "Mixpanel": "Mixpanel",
    "Movable Ink": "Movable Ink",
    "MyEmma": "Emma",
    "Netflix": "NetFlix",
    "Omnisend": "Omnisend",
    "Optimove": "Optimove",
    "Oracle": "Oracle",
    "Outreach": "Outreach",
    "PayPal": "PayPal",
    "Postmark": "Postmark",
    "Qualtrics": "Qualtrics",
    "Sailthru": "Sailthru",
    "Salesforce": "Salesforce",
    "SalesLoft": "Salesloft",
    "Selligent": "Selligent",
    "Sendinblue": "Brevo",
    "SendGrid": "SendGrid",
    "Shopify": "Shopify",
    "SparkPost": "SparkPost",
    "Squarespace": "Squarespace",
    "Streak": "Streak",
    "Substack": "Substack",
    "Superhuman": "Superhuman",
    "ToutApp": "ToutApp",
    "Twitch": "Twitch",
    "Twitter": "Twitter",
    "UNiDAYS": "Unidays",
    "Verizon": "Verizon",
    "Webtrekk": "Webtrekk",
    "Wix": "Wix",
    "Yahoo!": "Yahoo!",
    "Yesware": "Yesware",
    "Zendesk": "ZenDesk",                 # futuresimple.com = Zendesk Sell (formerly Base)
}

# MTB vendor -> name of the NEW entity, where MTB's name would clash with an unrelated existing
# entity (entities of the same name are merged by the loader) or is not the product's name.
NEW_NAMES = {
    "Signal": "Signal (signl.live)",      # "Signal" in entities.toml is an unrelated tag manager
    "Zoho": "Zoho CRM",                   # zohoinsights-crm.com; Zoho Campaigns exists already
}

# New entities that are one-to-one sales / CRM / mail-client trackers rather than bulk senders.
SALES_TRACKING = {
    "AgileCRM", "Apptivo", "Ashby", "Bananatag", "Boomerang", "BuzzStream", "CanaryMail",
    "Cirrus Insight", "Close", "cloudHQ", "ContactMonkey", "Copper", "DidTheyReadIt", "Ebsta",
    "EmailTracker.website", "FrontApp", "Gem", "GetNotify", "Gmelius", "gogcli", "Hiretual",
    "Mailbird", "Mailbutler", "Mailcastr", "Mailshake", "Mailspring", "MailTag", "NetHunt",
    "NewtonHQ", "PersistIQ", "PipeDrive", "Polymail", "ReplyCal", "ReplyMsg", "Rocketbolt",
    "SalesHandy", "Signal", "Snov.io", "TheTopInbox", "Track", "Vtiger", "YAMM", "Zoho",
}

# Entities of entities.toml (third-party-web) that own a host by a broad domain but are not the
# tracker behind it: *.apple.com -> "Auto Link Maker", *.microsoft.com -> "Bing Ads",
# *.windows.net -> "Azure Web Services", *.herokuapp.com -> "Heroku", *.amazon.com ->
# "Amazon Web Services". For those hosts the MTB vendor is named instead.
OWNER_IGNORED = {"Auto Link Maker", "Bing Ads", "Azure Web Services", "Heroku",
                 "Amazon Web Services", "Amazon CloudFront"}

# Second-level public suffixes seen in the source (registrable = one label more than these).
MULTI_LABEL_SUFFIXES = {"co.jp", "ne.jp", "or.jp", "co.uk", "com.au", "co.il", "co.in", "com.br"}

# Top-level domains accepted for automatic host parsing (anything else needs a decision, which
# keeps file names such as "ebsta.gif" from being read as hosts).
TLDS = {"com", "net", "org", "io", "de", "jp", "me", "ca", "trade", "co", "in", "us", "eu", "nl",
        "au", "br", "pl", "email", "cloud", "link", "live", "tv", "sr", "gov", "il", "uk", "it",
        "watch"}

# Query parameter names too common to make a path-shape rule specific on their own.
GENERIC_PARAMS = {"id", "url", "ref", "key", "token", "type", "user", "data", "page", "name",
                  "code", "link", "open", "site", "lang", "hash", "time", "date", "view", "kind",
                  "signature", "email", "mail", "track", "source"}

# --------------------------------------------------------------------------------------------
# Decisions for single regexes (key: vendor, regex as written in MTB after ObjC unescaping)
# --------------------------------------------------------------------------------------------
#   drop(reason, generic=False)  not converted; generic=True lists it as "too generic"
#   covered(rule_id)             an endpoint of mail.toml already covers it
#   covered_domains(reason)      the host is already named by an existing entity's domains
#   endpoint(**fields)           explicit endpoint fields (hosts, path, query_has, identifiers,
#                                entity); missing fields are derived automatically
#   domains(list, entity=None)   explicit domains for a bare host
#   entity(name, why)            automatic conversion, but for another entity than MTB's label


def drop(reason, generic=False):
    return {"action": "drop", "reason": reason, "generic": generic}


def covered(rule_id, note=""):
    return {"action": "covered", "rule": rule_id, "reason": note}


def covered_domains(reason):
    return {"action": "covered", "rule": None, "reason": reason}


def endpoint(**fields):
    return {"action": "endpoint", **fields}


def domains(names, entity=None, why=""):
    return {"action": "domains", "domains": names, "entity": entity, "why": why}


def entity(name, why=""):
    return {"action": "auto", "entity": name, "why": why}


def _digits(prefix, suffix, optional=False):
    """Expand one `[0-9]` (or `[0-9]?`) in a registrable domain into explicit domains."""
    out = []
    for d in ([""] if optional else []) + [str(i) for i in range(10)]:
        name = f"{prefix}{d}{suffix}"
        out += [name, "*." + name]
    return out


DECISIONS = {
    # --- host parts written as regexes ----------------------------------------------------------
    ("Acoustic", "mkt[0-9]+.com/open"):
        covered("acoustic-open", "its known mktNNNN.com hosts; an unbounded digit suffix is not "
                "expressible as a host pattern"),
    ("Amazon", "sellercentral(-europe)?(-japan)?.amazon.+/nms/img/"):
        endpoint(hosts=["sellercentral*.amazon.*", "sellercentral*.amazon.co.*",
                        "sellercentral*.amazon.com.*"], path="(?i)^/nms/img/"),
    ("Autopilot", "autopilotmail[0-9]?.io"):
        domains(_digits("autopilotmail", ".io", optional=True)),
    ("Campaign Monitor", "cmail[0-9][0-9]?.com/t/"):
        covered("campaignmonitor-open", "path shape of its /t/ pixels on any cmailNN host"),
    ("Campaign Monitor", "createsend[0-9]+.com"):
        covered_domains("createsend.com / createsend1.com are Campaign Monitor domains in "
                        "mail.toml; an unbounded digit suffix is not expressible"),
    ("cloudHQ", "cloudhq-mkt[0-9].net/mail_track"):
        endpoint(hosts=_digits("cloudhq-mkt", ".net"), path="(?i)^/mail_track"),
    ("FreshMail", "mail..+.pl/o/"):
        drop("any mail.<domain>.pl host with a /o/ path: too generic", generic=True),
    ("Gmass", "link.gmreg[0-9].net"):
        covered_domains("gmregN.net are GMass domains in mail.toml"),
    ("Gmass", "gmreg[0-9].net"):
        covered_domains("gmregN.net are GMass domains in mail.toml"),
    ("HubSpot", "t.strk[0-9][0-9].email"):
        covered_domains("strkNN.email are HubSpot Sales domains in mail.toml"),
    ("Infusion Software", "keap-link[0-9][0-9][0-9].com/v2/render/"):
        drop("needs a wildcard subdomain of a digit-suffixed domain (<app>.keap-linkNNN.com), "
             "which host patterns cannot express; the path /v2/render/ alone is too generic"),
    ("Intercom", "intercom-mail.+.com/(via/)?[oq]"):
        covered("intercom-open"),
    ("Intuit", "us[0-9]+.mailchimp.com/mctx/opens"):
        covered("mailchimp-mctx-open"),
    ("Klaviyo", "ctrk.klclick[123]?.com/o/"):
        covered("klaviyo-open"),
    ("Mailcampaigns", "interface.mailcampaigns.nl/v[0-9]/t/"):
        endpoint(hosts=["interface.mailcampaigns.nl"], path="(?i)^/v[0-9]/t/"),
    ("Medallia", "survey[0-9]?.medallia.+/\\?[a-z0-9_]+&invite-opened=yes"):
        endpoint(hosts=["survey*.medallia.*"], path="^/$", query_has=["invite-opened"]),
    ("SMTP.com", "track.smtpsendmail.com/[0-9][0-9][0-9][0-9][0-9][0-9]?[0-9]?/o"):
        endpoint(hosts=["track.smtpsendmail.com"], path="(?i)^/[0-9]{5,7}/o"),
    ("UNiDAYS", "links[0-9]?.m.myunidays.com"):
        covered_domains("myunidays.com is a Unidays domain in entities.toml"),
    ("Vinted", "vinted.[a-z][a-z]/crm/email_track\\?crm_email_id="):
        endpoint(hosts=[], path="(?i)^/crm/email_track$", query_has=["crm_email_id"]),
    ("Zoho", "sender[0-9].zohoinsights-crm.com/ocimage/"):
        endpoint(hosts=["sender*.zohoinsights-crm.com"], path="(?i)^/ocimage/"),
    ("CanaryMail", "receipts.canarymail.io(:[0-9]+)?/track/"):
        endpoint(hosts=["receipts.canarymail.io"], path="(?i)^/track/"),
    ("Granicus", "govdelivery.com(:[0-9]+)?/track"):
        endpoint(hosts=["govdelivery.com", "*.govdelivery.com"], path="(?i)^/track"),
    ("Microsoft", "svc.dynamics.com/t/i/"):
        endpoint(hosts=["*.svc.dynamics.com"], path="(?i)^/t/i/"),  # <org>.svc.dynamics.com

    # --- partial host names, fragments, not URL patterns --------------------------------------
    ("Alida", ".png1"):
        drop("any character followed by 'png1' anywhere in the tag: too generic", generic=True),
    ("Amazon SES", "aws-track-email-open"):
        endpoint(hosts=[], path="(?i)^/.*aws-track-email-open",
                 why="a path segment of an API Gateway open-tracking endpoint "
                     "(/prod/...-aws-track-email-open?encodedtrack=...)"),
    ("Apple", "apple_email_link/spacer"):
        endpoint(hosts=[], path="(?i)^/([^/]+/)*apple_email_link/spacer",
                 why="Apple's /img/APPLE_EMAIL_LINK/spacerN.gif?v=2&a=<token> pixel"),
    ("Close", "dripemail2"):
        domains(["dripemail2.com", "*.dripemail2.com", "dripemail2.net", "*.dripemail2.net"],
                entity="Drip", why="dripemail2.com / .net are Drip's sending and tracking "
                "domains; MailTrackerBlocker lists them under Close"),
    ("Ebsta", "ebsta.gif"):
        endpoint(hosts=[], path="(?i)^/([^/]+/)*ebsta\\.gif"),
    ("gogcli", "gog-email-tracker-"):
        endpoint(hosts=["gog-email-tracker*.*.workers.dev"], path="^/t/[^/]+\\.png$",
                 why="gogcli's Cloudflare Worker gog-email-tracker[-<account>].<acct>.workers.dev "
                     "serves its pixel at /t/<tracking id>.png"),
    ("HubSpot", "t.hubspotemail"):
        covered_domains("t.hubspotemail.net: hubspotemail.net is a HubSpot domain in mail.toml"),
    ("HubSpot", "t.hubspotfree"):
        domains(["hubspotfree.net", "*.hubspotfree.net"],
                why="t.hubspotfree.net, HubSpot's free-tier tracking host"),
    ("HubSpot", "t.signaux"):
        covered_domains("signauxNN.com are HubSpot Sales domains in mail.toml"),
    ("HubSpot", "t.senal"):
        covered_domains("senalNN.com are HubSpot Sales domains in mail.toml"),
    ("HubSpot", "t.signale"):
        covered_domains("signaleNN.com are HubSpot Sales domains in mail.toml"),
    ("HubSpot", "t.sidekickopen"):
        covered_domains("sidekickopenNN.com are HubSpot Sales domains in mail.toml"),
    ("HubSpot", "t.sigopn"):
        covered_domains("sigopnNN.com are HubSpot Sales domains in mail.toml"),
    ("HubSpot", "t.hsmsdd"):
        drop("partial host name 't.hsmsdd' without a known domain (probably a garbled "
             "t.hsmsNN pattern): not convertible"),
    ("HubSpot", "track.getsidekick.com"):
        covered_domains("getsidekick.com is a HubSpot Sales domain in mail.toml"),
    ("Locaweb", ".br/accounts/[0-9][0-9][0-9][0-9]/messages/[0-9][0-9][0-9]/openings/"
                "[0-9][0-9][0-9][0-9][0-9]\\?envelope_id="):
        endpoint(hosts=[], path="(?i)^/accounts/[0-9]{4}/messages/[0-9]{3}/openings/[0-9]{5}$",
                 query_has=["envelope_id"],
                 why="host part is only the .br TLD, which a host pattern cannot express; the "
                     "path and envelope_id are specific on their own"),
    ("Pepipost", "[A-Z][A-Z][A-Z][A-Z][A-Z][A-Z][A-Z][A-Z][A-Z]\\?id="):
        drop("nine letters followed by ?id= anywhere in the tag: too generic", generic=True),
    ("Techgig", "tj_mailer_opened_count_all.php"):
        endpoint(hosts=[], path="(?i)^/([^/]+/)*tj_mailer_opened_count_all\\.php"),
    ("Traverse", "getpic.php\\?l="):
        drop("a getpic.php?l= file name on any host: too generic", generic=True),
    ("YAMM", "yamm-track.appspot"):
        domains(["yamm-track.appspot.com"]),

    # --- path-only regexes: kept, or dropped despite two path components -----------------------
    ("Oracle", "/t/o\\?"):
        entity("Bronto Software", "MailTrackerBlocker notes it as Bronto"),
    ("Ongage", "/\\?x[ou]l=.+&(amp;)?eih="):
        endpoint(hosts=[], path="^/$", query_has=["eih"]),
    ("WhatCounts", "/t\\?c=[0-9][0-9][0-9][0-9]&r=[0-9][0-9][0-9][0-9]&l=[0-9][0-9][0-9]?&t="
                   "[0-9][0-9]&e="):
        endpoint(hosts=[], path="^/t$", query_has=["c", "r", "l", "t", "e"],
                 why="one path component, but five required parameters together are specific"),
    ("ReplyCal", "replycal.com/home/index/\\?token"):
        endpoint(hosts=["replycal.com", "*.replycal.com"], path="(?i)^/home/index/$",
                 query_has=["token"]),
    ("Jeeng", "/stripe/image\\?cs_"):
        endpoint(hosts=[], path="(?i)^/stripe/image$",
                 why="the cs_... parameter is only a name prefix, so no query_has"),
    ("Traverse", "/v1/.+/[0-9].gif\\?emailMd5Lower="):
        endpoint(identifiers=["emailMd5Lower"]),
    ("Mapp", "enews.zdnet.com/imagelibrary/"):
        drop("an image-library path: hits ordinary newsletter images"),

    # --- mislabels, duplicates, reassigned entities ------------------------------------------
    ("Fastic", "/e/eo\\?_t="):
        covered("iterable-open", "MailTrackerBlocker's 'Fastic' rule is Iterable's open pixel"),
    ("Hunter.io", "mltrk.io/pixel"):
        drop("duplicate: the same regex is listed under MailTrack (mltrk.io is Mailtrack's), "
             "converted there"),
    ("Zoho", "/open.gif"):
        drop("/open.gif on any host (also hits other platforms)", generic=True),
    ("Selligent", "slgnt.eu"):
        covered_domains("slgnt.eu is a Selligent domain in entities.toml (host-wide, so it names "
                        "the vendor only and is no endpoint)"),
    ("Amazon SES", "/gp/r.html"):
        entity("Amazon", "amazon.com's own open pixel (/gp/r.html?...&T=O), not Amazon SES"),
    ("Amazon SES", "/gp/forum/email/tracking"):
        entity("Amazon", "an amazon.com path, not Amazon SES"),
    ("Amazon SES", "amazonappservices.com/trk"):
        entity("Amazon", "Amazon developer marketing mail, not Amazon SES"),
    ("Amazon SES", "amazonappservices.com/r/"):
        entity("Amazon", "Amazon developer marketing mail, not Amazon SES"),
    ("Amazon SES", "awscloud.com/trk"):
        entity("Amazon", "AWS marketing mail, not Amazon SES"),
    ("Oracle", "bm5150.com/t/"):
        entity("Bronto Software", "a Bronto tracking domain like bm23.com"),
    ("Salesforce", "welcome.michaelcassel.com/r/.+/open/1"):
        entity("Pardot", "MailTrackerBlocker notes it as Pardot"),
    ("Salesforce", "salesforceiq.com/t.png"):
        entity("Salesforce.com", "SalesforceIQ (RelateIQ), a salesforce.com product"),
    ("Salesforce", "app.relateiq.com/t.png"):
        entity("Salesforce.com", "SalesforceIQ (RelateIQ), a salesforce.com product"),
    ("HubSpot", "/e2t/o/"): covered("hubspot-open-e2t"),
    ("HubSpot", "/e2t/c/"): covered("hubspot-click-e2t"),
    ("HubSpot", "/e2t/to/"): covered("hubspot-open-e2t"),
    ("HubSpot", "hubspotlinks.com/[bc]to/"): covered("hubspot-open-links"),
    ("HubSpot", "/e3t/[bc]to/"): covered("hubspot-open-e3t"),
    ("Appriver", "appriver.com/e1t/o/"): covered("hubspot-sales-open", "HubSpot Sales pixel path"),
    ("GetBase", "getbase.com/e1t/o/"): covered("hubspot-sales-open", "HubSpot Sales pixel path"),
    ("MetaData", "metadata.io/e1t/o/"): covered("hubspot-sales-open", "HubSpot Sales pixel path"),
    ("Emarsys", "emarsys.com/e2t/o/"): covered("hubspot-open-e2t", "HubSpot pixel path"),

    # --- covered by mail.toml -------------------------------------------------------------------
    ("Adobe", "/trk\\?t=1&mid="): covered("marketo-open"),
    ("Amazon SES", ".awstrack.me/I0/"): covered("ses-open"),
    ("Amazon SES", "/CI0/.+/.+=[0-9][0-9][0-9]"): covered("ses-open-custom-domain"),
    ("beehiiv", "/ss/o/[a-zA-Z0-9_.]+/[a-z0-9][a-z0-9][a-z0-9]/[a-zA-Z0-9_.-]+/ho.gif"):
        covered("sendgrid-ss-open", "beehiiv sends through SendGrid"),
    ("Optimove", "/ss/o/[a-zA-Z0-9_.-]+/[a-z0-9][a-z0-9][a-z0-9]/[a-zA-Z0-9_]+/ho.gif"):
        covered("sendgrid-ss-open", "SendGrid's /ss/o/ pixel format"),
    ("Constant Contact", "rs6.net/on.jsp"): covered("constantcontact-open"),
    ("ConvertKit", "convertkit-mail.com/o/"): covered("kit-open-legacy"),
    ("Customer.io", "/e/o/.+"): covered("customerio-open", "stricter path shape"),
    ("Emarsys", "/mo/.+.gif"): covered("emarsys-open", "stricter path shape"),
    ("Epsilon", "login.dotomi.com/ucm/UCMController"): covered("epsilon-ucm"),
    ("Intercom", "via.intercom.io/o"): covered("intercom-open"),
    ("Intuit", "list-manage.com/track/open.php"): covered("mailchimp-open"),
    ("Intuit", "/track/open.php\\?u="):
        covered("mandrill-open-branded", "the Mailchimp / Mandrill open pixel on any host"),
    ("Mailgun", "/o/eJ"): covered("mailgun-open"),
    ("Mailjet", "/oo/[a-z0-9]+/[a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9]"
                "/e.gif"): covered("mailjet-open"),
    ("MyEmma", "e2ma.net/track"): covered("emma-tracker"),
    ("Oracle", "/pub/as\\?_ri_="): covered("responsys-open"),
    ("Oracle", "/e/FooterImages/FooterImage"): covered("eloqua-open"),
    ("Outreach", "outrch.com/api/mailings/opened"): covered("outreach-open"),
    ("Outreach", "getoutreach.com/api/mailings/opened"): covered("outreach-open"),
    ("Outreach", "a.science-recruiting.com/api/mailings/opened"): covered("outreach-open"),
    ("Sailthru", "sailthru.com/trk"): covered("sailthru-trk"),
    ("Salesforce", "/open.aspx\\?"): covered("sfmc-open-branded"),
    ("SendGrid", "sendgrid.net/mpss/o"): covered("sendgrid-mpss-open"),
    ("SendGrid", "sendgrid.com/mpss/o"): covered("sendgrid-mpss-open"),
    ("SendGrid", "/wf/open\\?upn="): covered("sendgrid-open"),
    ("Sendinblue", "/[a-z][a-z]/op/"): covered("brevo-open", "stricter path shape"),
    ("SparkPost", "/q/.+~~/"): covered("sparkpost-open", "stricter path shape"),
    ("Zoho", "maillist-manage.com/clicks/"): covered("zoho-campaigns-click"),
}

# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


def parse_objc_dict(text):
    """Vendors and their regexes, in file order. `//` comments (outside strings) are skipped."""
    tokens = []
    i, n = 0, len(text)
    while i < n:
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if text.startswith('@"', i):
            j = i + 2
            buf = []
            while text[j] != '"':
                if text[j] == "\\":
                    buf.append(text[j + 1])  # ObjC escape: \\ -> \, \" -> "
                    j += 2
                else:
                    buf.append(text[j])
                    j += 1
            tokens.append(("str", "".join(buf)))
            i = j + 1
            continue
        if text[i] in ":[],{}":
            tokens.append((text[i], None))
        i += 1
    vendors = []
    k = 0
    while k < len(tokens):
        if tokens[k][0] == "str" and k + 2 < len(tokens) and tokens[k + 1][0] == ":":
            name = tokens[k][1]
            if tokens[k + 2][0] != "[":
                raise SystemExit(f"vendor {name!r}: expected @[ ... ]")
            k += 3
            regexes = []
            while tokens[k][0] != "]":
                if tokens[k][0] == "str":
                    regexes.append(tokens[k][1])
                k += 1
            vendors.append((name, regexes))
        k += 1
    return vendors


HOST_PART_RE = re.compile(
    r"^(?P<dot>\.)?(?P<host>[a-z0-9-]+(?:\.[a-z0-9-]+)+)(?P<rest>/.*|\\\?.*)?$")
HOST_RE = re.compile(r"^(\*\.)?([a-z0-9_]([a-z0-9_-]*[a-z0-9_])?\.)+[a-z0-9-]*[a-z0-9]$")


def registrable(host):
    labels = host.split(".")
    if len(labels) == 2:
        return True
    return len(labels) == 3 and ".".join(labels[1:]) in MULTI_LABEL_SUFFIXES


def host_patterns(host, any_subdomain=False):
    if registrable(host):
        return [host, "*." + host]
    return ["*." + host] if any_subdomain else [host]


def split_host(rx):
    """(host, any_subdomain, rest) for a regex that starts with a literal host, else None."""
    m = HOST_PART_RE.match(rx)
    if not m:
        return None
    host = m.group("host")
    if host.rsplit(".", 1)[1] not in TLDS:
        return None
    return host, bool(m.group("dot")), m.group("rest") or ""


def escape_dots(rx):
    """MTB writes literal dots unescaped; escape every "." that is not a wildcard (".+", ".*",
    ".?", ".{") and not inside a character class."""
    out = []
    i = 0
    in_class = False
    while i < len(rx):
        c = rx[i]
        if c == "\\":
            out.append(rx[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "." and (i + 1 >= len(rx) or rx[i + 1] not in "+*?{"):
            out.append("\\.")
            i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


def convert_path(rest):
    """MTB path part ("/x/y", maybe with "\\?k=...") -> (path regex, query keys)."""
    if "\\?" in rest:
        path, query = rest.split("\\?", 1)
    else:
        path, query = rest, None
    body = escape_dots(path)
    keys = []
    if query is not None:
        keys = re.findall(r"(?:^|&)(?:\(amp;\)\?)?([A-Za-z0-9_-]+)=", query)
        body += "$"
    regex = "^" + body
    if re.search(r"[A-Za-z]", re.sub(r"\\.", "", body)):
        regex = "(?i)" + regex
    return regex, keys


def literal_segments(path_regex):
    """Path components that hold a literal letter or digit (not only classes / wildcards)."""
    body = re.sub(r"^\(\?i\)", "", path_regex).lstrip("^").rstrip("$")
    body = re.sub(r"\[[^\]]*\][?*+]?", "", body)
    body = re.sub(r"\\\.[A-Za-z0-9]{2,4}(?=/|$)", "", body)  # a file extension alone is no name
    body = re.sub(r"\\.", "x", body)
    return [s for s in body.split("/") if re.search(r"[A-Za-z0-9]", s)]


def specific_enough(path_regex, keys):
    if len(literal_segments(path_regex)) >= 2:
        return True
    return any(len(k) >= 4 and k.lower() not in GENERIC_PARAMS for k in keys)


def slug(name):
    s = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return s


# --------------------------------------------------------------------------------------------
# Existing rules
# --------------------------------------------------------------------------------------------


class Existing:
    def __init__(self, rules_dir):
        self.category = {}     # entity name -> effective category (later files win)
        self.defined_in = {}   # entity name -> files that define it
        self.domains = {}      # domain base -> (entity, wildcard)
        self.endpoint_ids = set()
        for f in EXISTING_FILES:
            with open(os.path.join(rules_dir, f), "rb") as fh:
                doc = tomllib.load(fh)
            for e in doc.get("entity", []):
                name = e["name"]
                self.defined_in.setdefault(name, []).append(f)
                if e.get("category"):
                    self.category[name] = e["category"]
                for d in e.get("domains", []):
                    d = d.lower()
                    wild = d.startswith("*.")
                    base = d[2:] if wild else d
                    prev = self.domains.get(base)
                    if prev and prev[0] == name:
                        wild = wild or prev[1]
                    self.domains[base] = (name, wild)
            for ep in doc.get("endpoint", []):
                self.endpoint_ids.add(ep["id"])

    def owner(self, host):
        """The entity naming `host` by its domains (longest match), as entity_for_host does."""
        host = host.lower()
        suffix, exact = host, True
        while True:
            hit = self.domains.get(suffix)
            if hit and (exact or hit[1]):
                return hit[0]
            if "." not in suffix:
                return None
            suffix = suffix.split(".", 1)[1]
            exact = False


# --------------------------------------------------------------------------------------------
# Conversion
# --------------------------------------------------------------------------------------------


class Converter:
    def __init__(self, vendors, existing):
        self.vendors = vendors
        self.ex = existing
        self.new_entities = {}    # name -> {"category", "domains", "vendor"}
        self.extensions = {}      # existing entity -> [domains]
        self.endpoints = []
        self.generic = []         # (vendor, regex, reason)
        self.other_drops = []     # (vendor, regex, reason)
        self.covered = []         # (vendor, regex, rule id or None, reason)
        self.notes = []           # (what, why) for explicit domain decisions
        self.used_decisions = set()
        self.ids = set()

    # -- entities --
    def resolve(self, vendor, hosts, override=None):
        if override:
            return override
        owners = set()
        for h in hosts:
            base = h[2:] if h.startswith("*.") else h
            if "*" not in base:  # globs name no single domain
                owners.add(self.ex.owner(base))
        owners = {o for o in owners if o and o not in OWNER_IGNORED}
        if len(owners) == 1:
            return owners.pop()
        if vendor in ALIASES:
            return ALIASES[vendor]
        name = NEW_NAMES.get(vendor, vendor)
        if name in self.ex.defined_in:
            # same name as an existing entity: an alias must say that it is the same vendor
            raise SystemExit(f"vendor {vendor!r} would reuse the existing entity {name!r}; add "
                             f"it to ALIASES (same vendor) or NEW_NAMES (a different one)")
        return name

    def ensure_entity(self, name, vendor):
        if name in self.ex.defined_in:
            return
        if name not in self.new_entities:
            category = "sales-tracking" if vendor in SALES_TRACKING else "email-marketing"
            self.new_entities[name] = {"category": category, "domains": [], "vendor": vendor}

    def add_domains(self, name, vendor, names, vendor_regex):
        self.ensure_entity(name, vendor)
        added = []
        for d in names:
            if not HOST_RE.match(d):
                raise SystemExit(f"{vendor}: {vendor_regex!r}: bad domain {d!r}")
            base = d[2:] if d.startswith("*.") else d
            owner = self.ex.owner(base)
            hit = self.ex.domains.get(base)
            if owner == name and (hit is None or hit[1] or not d.startswith("*.")):
                continue  # already named by this entity
            if (hit and hit[0] != name) or (owner and owner != name
                                              and owner not in OWNER_IGNORED):
                raise SystemExit(f"{vendor}: {vendor_regex!r}: domain {d} already belongs to "
                                 f"{(hit or [owner])[0]!r}; decide in DECISIONS")
            target = (self.new_entities[name]["domains"] if name in self.new_entities
                      else self.extensions.setdefault(name, []))
            if d not in target:
                target.append(d)
                added.append(d)
        return added

    # -- one regex --
    def convert(self, vendor, index, rx):
        key = (vendor, rx)
        dec = DECISIONS.get(key)
        if dec is not None:
            self.used_decisions.add(key)
        action = dec["action"] if dec else "auto"
        if action == "drop":
            (self.generic if dec["generic"] else self.other_drops).append((vendor, rx,
                                                                            dec["reason"]))
            return
        if action == "covered":
            if dec["rule"] and dec["rule"] not in self.ex.endpoint_ids:
                raise SystemExit(f"{key}: covering rule {dec['rule']!r} not found")
            self.covered.append((vendor, rx, dec["rule"], dec["reason"]))
            return
        if action == "domains":
            name = self.resolve(vendor, [], dec.get("entity"))
            added = self.add_domains(name, vendor, dec["domains"], rx)
            if not added:
                self.covered.append((vendor, rx, None, f"already named by {name}"))
            elif dec.get("why"):
                self.notes.append((f"{name}: {', '.join(added)}", dec["why"]))
            return

        override_entity = dec.get("entity") if dec else None
        if action == "endpoint":
            fields = dict(dec)
            if "path" not in fields or "hosts" not in fields:
                auto = self.auto_fields(vendor, rx)
                if auto is None:
                    raise SystemExit(f"{key}: cannot derive missing endpoint fields")
                if auto[0] != "endpoint":
                    raise SystemExit(f"{key}: automatic conversion gives {auto[0]}, "
                                     f"not an endpoint")
                for k, v in auto[1].items():
                    fields.setdefault(k, v)
            self.add_endpoint(vendor, index, rx, fields, override_entity, dec.get("why", ""))
            return

        auto = self.auto_fields(vendor, rx)
        if auto is None:
            raise SystemExit(f"no automatic conversion for {vendor!r}: {rx!r}; add a decision "
                             f"to DECISIONS")
        kind, fields = auto
        if kind == "generic":
            self.generic.append((vendor, rx, fields["reason"]))
            return
        if kind == "domains":
            name = self.resolve(vendor, fields["domains"], override_entity)
            if not self.add_domains(name, vendor, fields["domains"], rx):
                self.covered.append((vendor, rx, None, f"already named by {name}"))
            return
        self.add_endpoint(vendor, index, rx, fields, override_entity,
                          dec.get("why", "") if dec else "")

    def auto_fields(self, vendor, rx):
        """("endpoint", fields) / ("domains", {"domains"}) / ("generic", {"reason"}) / None."""
        if rx.startswith("/"):
            path, keys = convert_path(rx)
            if not specific_enough(path, keys):
                return "generic", {"reason": "path-only regex without two literal path "
                                             "components or a distinctive query parameter"}
            return "endpoint", {"hosts": [], "path": path, "query_has": keys}
        parts = split_host(rx)
        if parts is None:
            return None
        host, any_sub, rest = parts
        hosts = host_patterns(host, any_sub)
        if rest in ("", "/"):
            return "domains", {"domains": hosts}
        if rest.startswith("\\?"):
            rest = "/" + rest
        path, keys = convert_path(rest)
        return "endpoint", {"hosts": hosts, "path": path, "query_has": keys}

    def add_endpoint(self, vendor, index, rx, fields, override_entity, why):
        hosts = fields.get("hosts", [])
        path = fields.get("path")
        query_has = fields.get("query_has", [])
        for h in hosts:
            if not (HOST_RE.match(h) or ("*" in h and not h.startswith("*.")
                                         and re.match(r"^[a-z0-9*.-]+$", h))):
                raise SystemExit(f"{vendor}: {rx!r}: bad host pattern {h!r}")
        if path is not None:
            re.compile(path)
            if "'" in path:
                raise SystemExit(f"{vendor}: {rx!r}: quote in path regex")
        if not hosts:
            if path is None or not re.match(r"^(\(\?[a-z]+\))?\^", path):
                raise SystemExit(f"{vendor}: {rx!r}: path-shape rule needs an anchored path")
        name = self.resolve(vendor, hosts, override_entity or fields.get("entity"))
        self.ensure_entity(name, vendor)
        rid = f"mtb-{slug(vendor)}-{index}"
        if rid in self.ids or rid in self.ex.endpoint_ids:
            raise SystemExit(f"duplicate rule id {rid}")
        self.ids.add(rid)
        note = f"{name} open tracking (from MailTrackerBlocker)"
        if name != vendor:
            note = (f"{name} open tracking (from MailTrackerBlocker, listed there as "
                    f"\"{vendor}\")")
        self.endpoints.append({
            "id": rid, "entity": name, "hosts": hosts, "path": path,
            "query_has": query_has, "identifiers": fields.get("identifiers", []),
            "note": note, "source": rx, "why": why,
        })

    def run(self):
        for vendor, regexes in self.vendors:
            for i, rx in enumerate(regexes, 1):
                self.convert(vendor, i, rx)
        unused = set(DECISIONS) - self.used_decisions
        if unused:
            raise SystemExit(f"decisions for regexes not in the input: {sorted(unused)}")


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def q(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def qlist(items):
    return "[" + ", ".join(q(x) for x in items) + "]"


def comment_regex(rx):
    return rx.replace("\n", " ")


def render(conv, total_regexes):
    L = []
    w = L.append
    host_eps = [e for e in conv.endpoints if e["hosts"]]
    shape_eps = [e for e in conv.endpoints if not e["hosts"]]
    ext_domains = sum(len(v) for v in conv.extensions.values())
    new_domains = sum(len(v["domains"]) for v in conv.new_entities.values())
    w("# GENERATED FILE - regenerate with scripts/convert_mtb.py")
    w("# (python3 scripts/convert_mtb.py ../shared/data/email-trackers/mailtrackerblocker/"
      "getTrackerDict.m.txt)")
    w("#")
    w(f"# Source: {SOURCE_NAME} {SOURCE_VERSION} {SOURCE_FILE} ({SOURCE_URL})")
    w(f"# Licence: {LICENCE}")
    w("#")
    w(f"# {len(conv.vendors)} vendors, {total_regexes} regexes in the source. MailTrackerBlocker "
      "matches its regexes,")
    w("# case-insensitively, against the whole <img> tag; here each is split into a host and a "
      "path (see the")
    w("# script's docstring for the policy):")
    w(f"#   {len(conv.new_entities)} new entities, {len(conv.extensions)} existing entities "
      f"extended by domains only,")
    w(f"#   {new_domains + ext_domains} domains ({new_domains} on new entities, {ext_domains} on "
      "existing ones),")
    w(f"#   {len(host_eps)} host + path endpoints, {len(shape_eps)} path-shape endpoints "
      "(no hosts),")
    w(f"#   {len(conv.covered)} regexes already covered by mail.toml / existing domains, "
      f"{len(conv.generic)} dropped as too")
    w(f"#   generic, {len(conv.other_drops)} not converted for other reasons (all listed at the "
      "end).")
    w("# Paths are matched against the URL path (still percent-encoded, without the query); "
      "(?i) keeps")
    w("# MailTrackerBlocker's case-insensitivity. Rule ids: mtb-<vendor>-<n>, n = position of the "
      "regex in")
    w("# the vendor's list in the source. Load this file after entities.toml, mail.toml and "
      "site.toml.")
    w("")
    w("# A broad converted list: its endpoints apply only where no hand-written rule matches.")
    w("fallback = true")
    w("")

    w("# " + "-" * 93)
    w("# New entities")
    w("# " + "-" * 93)
    for name, ent in conv.new_entities.items():
        w("")
        w("[[entity]]")
        w(f"name = {q(name)}")
        w(f"category = {q(ent['category'])}")
        w(f"domains = {qlist(ent['domains'])}")

    if conv.extensions:
        w("")
        w("# " + "-" * 93)
        w("# Existing entities: domains only (same name and category as where they are defined; "
          "the loader")
        w("# merges same-name entities)")
        w("# " + "-" * 93)
        for name in sorted(conv.extensions, key=str.lower):
            w("")
            w(f"# {name} is defined in {', '.join(conv.ex.defined_in[name])}")
            w("[[entity]]")
            w(f"name = {q(name)}")
            w(f"category = {q(conv.ex.category[name])}")
            w(f"domains = {qlist(conv.extensions[name])}")

    w("")
    w("# " + "-" * 93)
    w("# Endpoints (in source order)")
    w("# " + "-" * 93)
    for e in conv.endpoints:
        w("")
        w(f"# source: {comment_regex(e['source'])}")
        if e["why"]:
            w(f"# {e['why']}")
        w("[[endpoint]]")
        w(f"id = {q(e['id'])}")
        w(f"entity = {q(e['entity'])}")
        w('kind = "open-pixel"')
        if e["hosts"]:
            w(f"hosts = {qlist(e['hosts'])}")
        if e["path"] is not None:
            w(f"path = '{e['path']}'")
        if e["query_has"]:
            w(f"query_has = {qlist(e['query_has'])}")
        w(f"identifiers = {qlist(e['identifiers'])}")
        w(f"note = {q(e['note'])}")

    if conv.notes:
        w("")
        w("# " + "-" * 93)
        w("# Domains from explicit decisions")
        for what, why in conv.notes:
            w(f"#   {what}: {why}")

    w("")
    w("# " + "-" * 93)
    w(f"# Not converted (too generic): {len(conv.generic)}")
    w("# They would hit ordinary images on any host.")
    w("# " + "-" * 93)
    for vendor, rx, reason in conv.generic:
        w(f"#   {vendor}: {comment_regex(rx)}  -- {reason}")
    w("")
    w("# " + "-" * 93)
    w(f"# Not converted (other reasons): {len(conv.other_drops)}")
    w("# " + "-" * 93)
    for vendor, rx, reason in conv.other_drops:
        w(f"#   {vendor}: {comment_regex(rx)}  -- {reason}")
    w("")
    w("# " + "-" * 93)
    w(f"# Already covered (not repeated): {len(conv.covered)}")
    w("# " + "-" * 93)
    for vendor, rx, rule, reason in conv.covered:
        by = f"mail.toml {rule}" if rule else "domains"
        extra = f"; {reason}" if reason else ""
        w(f"#   {vendor}: {comment_regex(rx)}  -- {by}{extra}")
    return "\n".join(L) + "\n"


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__.split("\n\n")[1])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    rules_dir = os.path.join(root, "rules")
    out_path = argv[2] if len(argv) > 2 else os.path.join(rules_dir, "mtb.toml")
    with open(argv[1], encoding="utf-8") as f:
        vendors = parse_objc_dict(f.read())
    if len(vendors) != EXPECTED_VENDORS:
        sys.exit(f"expected {EXPECTED_VENDORS} vendors in {SOURCE_VERSION}, found "
                 f"{len(vendors)}: a different version of the source?")
    names = [v for v, _ in vendors]
    if len(set(names)) != len(names):
        sys.exit("duplicate vendor names in the source")
    if len({slug(v) for v in names}) != len(names):
        sys.exit("two vendor names give the same rule-id slug")
    total = sum(len(r) for _, r in vendors)
    conv = Converter(vendors, Existing(rules_dir))
    conv.run()
    text = render(conv, total)
    tomllib.loads(text)  # must parse
    with open(out_path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    host_eps = sum(1 for e in conv.endpoints if e["hosts"])
    print(f"{out_path}: {len(vendors)} vendors, {total} regexes -> "
          f"{len(conv.new_entities)} new entities, {len(conv.extensions)} extended, "
          f"{sum(len(v['domains']) for v in conv.new_entities.values())}"
          f"+{sum(len(v) for v in conv.extensions.values())} domains, "
          f"{host_eps} host endpoints, {len(conv.endpoints) - host_eps} path-shape endpoints, "
          f"{len(conv.covered)} covered, {len(conv.generic)} too generic, "
          f"{len(conv.other_drops)} other drops")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
