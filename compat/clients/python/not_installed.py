"""Answers a job with CLIENT_NOT_INSTALLED for every step (compat/PROTOCOL.md section 2).
Used by launchers whose client is missing: python3 not_installed.py CLIENT_NAME MESSAGE."""

import sys

sys.dont_write_bytecode = True
import driver_common  # noqa: E402

if __name__ == "__main__":
    driver_common.not_installed_main({"name": sys.argv[1], "version": None, "library": None}, sys.argv[2])
