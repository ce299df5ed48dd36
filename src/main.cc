#include "cli/cli.h"

int main(int argc, char** argv) { return triage::cli::Main(argc, argv); }
