"""URL canonicalisation: one stable spelling per article URL, tracking parameters removed."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from courlan import normalize_url
from courlan.urlutils import get_tldinfo

HTTP_SCHEMES = frozenset({"http", "https"})

# Exact query parameter names that only track a click, a share or a campaign (compared lower-case). Drawn from
# courlan's tracker pattern (made exact here: its unanchored form also removes content parameters such as
# "gallery" or "global") plus the click ids, mail and analytics parameters news sites append.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "msclkid", "yclid", "ysclid", "twclid", "ttclid", "clickid",
        "li_fat_id", "wbraid", "gbraid", "igshid", "igsh", "partnerid", "mc_cid", "mc_eid", "_ga", "_gl",
        "_hsenc", "_hsmi", "_openstat", "hsctatracking", "mkt_tok", "rb_clickid", "s_cid", "wickedid",
        "ref", "ref_src", "ref_url", "referrer", "referer", "cmpid", "cmp", "ncid", "ocid", "ito", "icid",
        "xtor", "spm", "share", "sharetype", "smid", "smtyp", "sr_share", "soc_src", "soc_trk",
        "action_object_map", "action_type_map", "action_ref_map", "__twitter_impression", "guccounter",
        "guce_referrer", "guce_referrer_sig", "amp", "outputtype", "taid", "trk", "trkcampaign", "utm",
        "aff", "affid", "aff_id", "affiliate", "affiliate_id", "campaign", "campaign_id", "clid", "medium",
        "session", "sessionid", "source", "kwd", "keyword_tracking",
    }
)
# Parameter-name prefixes that only track (utm_source, utm_medium, pk_campaign, ...).
TRACKING_PREFIXES = (
    "utm_", "pk_", "mtm_", "matomo_", "piwik_", "hmb_", "itm_", "ga_", "gs_", "mc_", "sc_", "at_", "ns_",
    "stm_", "_hs", "oly_", "vero_", "fb_", "ig_", "li_", "tw_", "wt.", "wt_", "ads_", "ad_", "mkt_", "ml_",
)

PERCENT_ESCAPE_RE = re.compile(r"%[0-9a-fA-F]{2}")


def is_tracking_param(name: str) -> bool:
    """True when a query parameter name only tracks a click or a campaign."""
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def host_of(url: str) -> str:
    """Lower-case host of a URL without port or credentials, '' if it has none."""
    if not isinstance(url, str):
        return ""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return ""
    return (host or "").rstrip(".")


def is_http_url(url: str | None) -> bool:
    """True only for an http or https URL that names a host."""
    if not isinstance(url, str) or not url.strip():
        return False
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in HTTP_SCHEMES and bool(host_of(url))


def registered_site_of(url: str) -> str:
    """Registrable domain of a URL (bbc.co.uk for news.bbc.co.uk); the host's last two labels when unknown."""
    host = host_of(url)
    if not host:
        return ""
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    _domain, registered = get_tldinfo(f"http://{host}/")
    if registered:
        return registered.lower()
    # Unknown suffixes (.example, .local, intranet names): the last two labels are the best guess.
    labels = host.split(".")
    return ".".join(labels[-2:])


def remove_dot_segments(path: str) -> str:
    """Resolve '.' and '..' segments of a URL path (RFC 3986, section 5.2.4)."""
    if "." not in path:
        return path
    output: list[str] = []
    for segment in path.split("/")[1:] if path.startswith("/") else path.split("/"):
        if segment == "..":
            if output:
                output.pop()
        elif segment != ".":
            output.append(segment)
    resolved = "/" + "/".join(output) if path.startswith("/") else "/".join(output)
    if path.endswith(("/.", "/..")) and not resolved.endswith("/"):
        resolved += "/"
    return resolved


def clean_query(query: str) -> str:
    """Query string without tracking parameters, the rest sorted by name then value."""
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    kept = sorted((name, value) for name, value in pairs if not is_tracking_param(name))
    return urlencode(kept)


def _canonicalise_http(url: str) -> str | None:
    """Canonical form of an http(s) URL, or None when it is not one."""
    # Feeds and HTML attributes often carry "&amp;" between query parameters.
    parts = urlsplit(url.replace("&amp;", "&"))
    scheme = parts.scheme.lower()
    if scheme not in HTTP_SCHEMES or not parts.hostname:
        return None
    host = parts.hostname.rstrip(".")
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    port = parts.port  # ValueError on a non-numeric or out-of-range port
    default_port = 80 if scheme == "http" else 443
    # Credentials are never part of an article's identity; default ports are dropped.
    netloc = host if port in (None, default_port) else f"{host}:{port}"
    path = remove_dot_segments(parts.path) or "/"
    # courlan decodes punycode hosts, collapses repeated slashes and quotes the path; the query is cleaned
    # here (see TRACKING_PARAMS) and the fragment never reaches it.
    normalised = normalize_url(urlunsplit((scheme, netloc, path, "", "")), strict=False)
    # One spelling for percent-escapes (%2f and %2F are the same octet).
    normalised = PERCENT_ESCAPE_RE.sub(lambda match: match.group(0).upper(), normalised)
    query = clean_query(parts.query)
    return f"{normalised}?{query}" if query else normalised


def canonicalise_url(url: str, page_canonical: str | None = None) -> str:
    """Canonical URL of an article; a same-site rel=canonical or og:url (maybe relative) wins over the URL."""
    if not isinstance(url, str):
        return ""
    stripped = url.strip()
    try:
        canonical = _canonicalise_http(stripped)
    except (ValueError, TypeError, UnicodeError):
        canonical = None
    if canonical is None:
        return stripped
    if page_canonical and isinstance(page_canonical, str) and page_canonical.strip():
        try:
            declared = _canonicalise_http(urljoin(canonical, page_canonical.strip()))
        except (ValueError, TypeError, UnicodeError):
            declared = None
        if declared and registered_site_of(declared) == registered_site_of(canonical):
            return declared
    return canonical
