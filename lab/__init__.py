"""A bounded lab that makes a real Apache Traffic Server write its certificate-verification lines.

`python -m lab.run --out DIR` builds a small PKI (:mod:`lab.pki`), starts one HTTPS origin per failure
cause on loopback addresses (:mod:`lab.origins`), runs private ENFORCED and PERMISSIVE traffic_server
instances in front of them (:mod:`lab.ats`), sends one request per case, stops everything it started
and keeps the diags.log and error.log ATS wrote. The case table lives in :mod:`lab.cases`.
"""
