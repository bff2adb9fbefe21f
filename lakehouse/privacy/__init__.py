"""Privacy requests: erase one user from every place the lake keeps data, or export it all.

A request names the user by the hash the client sent or by the server-side hash
(:mod:`lakehouse.privacy.subject`); :func:`lakehouse.privacy.erase.erase_user` runs the steps,
each recorded once done so a re-run resumes, and :func:`lakehouse.privacy.export.export_user`
gathers every row. ``docs/privacy.md`` describes the procedure and its guarantees.
"""
