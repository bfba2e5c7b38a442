"""Command-line pieces shared by make_dataset.py and sample_video.py."""

import argparse
import sys


class OneLineErrors(argparse.ArgumentParser):
    """argparse that reports a bad argument as one line (no usage block), exit code 2."""

    def error(self, message):
        print(f'{self.prog}: error: {message} (see --help)', file=sys.stderr)
        sys.exit(2)
