"""The approval pages: plain HTML, every value escaped, no scripts."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from urllib.parse import quote

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
    "*{box-sizing:border-box}body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f8fa}"
    "header{background:#24292f;color:#fff;padding:.6rem 1rem;font-weight:600}"
    "main{max-width:42rem;margin:1.2rem auto;padding:0 1rem}h1{font-size:1.4rem;margin:.2rem 0 .8rem}"
    ".card{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:1rem}"
    "dl{display:grid;grid-template-columns:minmax(6rem,auto) 1fr;gap:.3rem .8rem;margin:0 0 1rem}"
    "dt{font-weight:600;color:#57606a}dd{margin:0;overflow-wrap:anywhere}"
    "label{display:block;font-weight:600;margin:.6rem 0 .2rem}"
    "textarea,input{width:100%;font:inherit;padding:.4rem;border:1px solid #d0d7de;border-radius:6px}"
    ".decide{display:flex;flex-wrap:wrap;gap:.6rem;margin-top:1rem}"
    "button{font:inherit;font-weight:600;padding:.5rem 1.4rem;border-radius:6px;cursor:pointer;flex:1 1 9rem}"
    ".accept{background:#1f883d;border:1px solid #1a7f37;color:#fff}"
    ".reject{background:#fff;border:1px solid #cf222e;color:#cf222e}"
    ".outcome-Approved{border-left:6px solid #1a7f37}.outcome-Rejected{border-left:6px solid #cf222e}"
    ".back{display:inline-block;margin-top:1rem}a{color:#0969da}"
)


def _document(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)} · Stepline</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_STYLE}</style></head>'
        f"<body><header>Stepline</header><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )


def _execution_link(approval: Approval) -> str:
    """Back to the execution in the console. Relative, as the form's action is: the page is at
    /approvals/<id>, under API Gateway's stage prefix (/Prod) too."""
    target = f"../pipelines/{quote(approval.pipeline, safe='')}/executions/{quote(approval.execution_name, safe='')}"
    return f'<a class="back" href="{escape(target)}">← Back to the execution in the console</a>'


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
        *([("Review", _link(approval.external_link))] if approval.external_link else []),
        ("Who may decide", f"whoever holds this link, until {_when(approval.expires_at)}; the first decision counts"),
    ]
    listing = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in facts)
    form = (
        # Relative, so the form posts back under API Gateway's stage prefix (/Prod) too.
        f'<form method="post" action="{escape(approval.id)}">'
        f'<input type="hidden" name="sig" value="{escape(signature)}">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
        f'<input type="hidden" name="execution" value="{escape(approval.execution_name)}">'
        '<label for="reviewer">Your name</label><input id="reviewer" name="reviewer" required maxlength="100">'
        '<label for="comment">Comment</label><textarea id="comment" name="comment" rows="4" maxlength="512"></textarea>'
        '<div class="decide"><button class="accept" name="decision" value="approve">Approve</button>'
        '<button class="reject" name="decision" value="reject">Reject</button></div></form>'
    )
    return _document("Approval needed", f'<div class="card"><dl>{listing}</dl>{form}</div>{_execution_link(approval)}')


def decided_page(approval: Approval) -> str:
    verb = "approved" if approval.status == "Approved" else "rejected"
    after = "The pipeline continues." if approval.status == "Approved" else "The stage has failed."
    comment = f"<p>Comment: {escape(approval.comment)}</p>" if approval.comment else ""
    return _document(
        f"{approval.stage}/{approval.action} {verb}",
        f'<div class="card outcome-{escape(approval.status)}"><p>{escape(approval.pipeline)} '
        f"{escape(approval.execution_name)}: {verb} by {escape(approval.decided_by)}. {after}</p>{comment}</div>"
        f"{_execution_link(approval)}",
    )


def problem_page(title: str, detail: str) -> str:
    return _document(title, f"<p>{escape(detail)}</p><p>Nothing was changed.</p>")
