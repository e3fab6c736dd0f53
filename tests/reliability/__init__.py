"""Reliability and security suite: faults, races, orphans, secrets, crash-safe files.

Everything runs for real: subprocess bundles speaking MCP over stdio (the fixture
servers in tests/fixtures/servers), real files under a temp data dir, processes
checked in the OS process table by their ``BUNDLE_CONSOLE_MARKER``. Each test puts a
unique tag in its workspace ids, so process checks never see another test's bundles.

* test_faults.py — each fault server as an installed MCPB bundle: end state + bound
* test_intent_order.py — Start/Stop/Restart/Save/Install interleavings: last request wins
* test_concurrency.py — seeded random operations with invariants checked throughout
* test_crash_safe_files.py — SIGKILLed writers never tear a file; corrupt files at startup
* test_orphans_e2e.py — a killed console's leftovers reaped; pid reuse; two consoles
* test_secrets.py — a sensitive value appears nowhere but in its credentials file
* test_bad_input.py — broken manifests, zip-slip, 50 MB manifest, wrong permissions

Default run: one seed, 500 operations, 200 kills (under 2 minutes on 2 cores).
``BUNDLE_CONSOLE_SEEDS=n`` runs n seeds; ``BUNDLE_CONSOLE_SOAK=1`` runs 5 seeds of
3000 operations and 1000 kills.
"""
