"""The grant ledger: what each person has been granted (``subsidy_grant``)."""
