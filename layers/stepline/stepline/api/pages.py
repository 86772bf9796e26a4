"""The approval pages: plain HTML, every value escaped, no scripts."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from stepline.ports.approvals import Approval

# No scripts, no frames, forms only back to us, and the signed link never leaks as a referrer:
# "same-origin" sends none to other sites, and lets our own forms carry their real Origin
# (under "no-referrer" a browser sends Origin "null", which says nothing of where it came from).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}

_STYLE = (
    "body{font:15px/1.5 system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}"
    "dt{font-weight:600}dd{margin:0 0 .6rem}textarea,input{width:100%;box-sizing:border-box}"
    "button{margin:.8rem .6rem 0 0;padding:.4rem 1.2rem}"
)


def _document(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)} · Stepline</title>'
        f'<meta name="viewport" content="width=device-width"><style>{_STYLE}</style></head>'
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _link(url: str) -> str:
    if url.startswith(("https://", "http://")):
        return f'<a href="{escape(url)}" rel="noreferrer noopener">{escape(url)}</a>'
    return escape(url)


def review_page(approval: Approval, signature: str, csrf: str) -> str:
    facts = [
        ("Pipeline", escape(approval.pipeline)),
        ("Execution", escape(approval.execution_name)),
        ("Stage / action", escape(f"{approval.stage} / {approval.action}")),
        ("Commit", escape(approval.commit or "—")),
        ("Details", escape(approval.custom_data or "—")),
        ("Review", _link(approval.external_link) if approval.external_link else "—"),
        ("Who may decide", f"whoever holds this link, until {_when(approval.expires_at)}; the first decision counts"),
    ]
    listing = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in facts)
    form = (
        # Relative, so the form posts back under API Gateway's stage prefix (/Prod) too.
        f'<form method="post" action="{escape(approval.id)}">'
        f'<input type="hidden" name="sig" value="{escape(signature)}">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
        f'<input type="hidden" name="execution" value="{escape(approval.execution_name)}">'
        '<label>Your name<input name="reviewer" required maxlength="100"></label>'
        '<label>Comment<textarea name="comment" rows="4" maxlength="512"></textarea></label>'
        '<button name="decision" value="approve">Approve</button>'
        '<button name="decision" value="reject">Reject</button></form>'
    )
    return _document("Approval needed", f"<dl>{listing}</dl>{form}")


def decided_page(approval: Approval) -> str:
    verb = "approved" if approval.status == "Approved" else "rejected"
    after = "The pipeline continues." if approval.status == "Approved" else "The stage has failed."
    comment = f"<p>Comment: {escape(approval.comment)}</p>" if approval.comment else ""
    return _document(
        f"{approval.stage}/{approval.action} {verb}",
        f"<p>{escape(approval.pipeline)} {escape(approval.execution_name)}: {verb} by "
        f"{escape(approval.decided_by)}. {after}</p>{comment}",
    )


def problem_page(title: str, detail: str) -> str:
    return _document(title, f"<p>{escape(detail)}</p><p>Nothing was changed.</p>")
