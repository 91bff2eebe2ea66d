"""PEM certificates (the trusted CA list, the server certificate): today only noted as present.

Nothing reads the certificates yet, so only their head is kept (`head_only`): a reader of them must
lift that. They have no content check: only their names find them.
"""

from __future__ import annotations

from logscope.bundle.spec import HOST_TS, IN_ARCHIVE, SourceSpec, name_patterns

CA_PEM = SourceSpec(
    "ca_pem",
    "the trusted CA list (ca_<host>_<timestamp>.pem)",
    name_patterns(rf"^ca{HOST_TS}\.pem$"),
    None,
    False,
    f"{IN_ARCHIVE} The list itself is under Maintenance > Security > Trusted CA Certificate.",
    head_only=True,
)
SERVER_PEM = SourceSpec(
    "server_pem",
    "the Expressway's server certificate (server_<host>_<timestamp>.pem)",
    name_patterns(rf"^server{HOST_TS}\.pem$"),
    None,
    False,
    f"{IN_ARCHIVE} The certificate itself is under Maintenance > Security > Server certificate.",
    head_only=True,
)
