#!/bin/sh
# Turns schema/NNN-name.sql files into a C array of migrations, in the order given.
set -e
echo '/* Generated from the schema/ migrations by build-aux/embed-schema.sh. Do not edit. */'
echo '#include "respa.h"'
echo 'const struct migration migrations[] = {'
for f in "$@"; do
	n=$(basename "$f" | sed 's/^0*\([0-9][0-9]*\)-.*/\1/')
	printf '\t{ %s, "%s",\n' "$n" "$(basename "$f")"
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t  "/' -e 's/$/\\n"/' "$f"
	printf '\t},\n'
done
echo '};'
echo 'const size_t nmigrations = sizeof(migrations) / sizeof(migrations[0]);'
