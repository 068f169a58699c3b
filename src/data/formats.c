/* formats.c - the data loaders, tried in order by mn_data_load: a new
 * format is one file in src/data/ plus one line here. The last entry (IDX
 * folders) claims every source the others do not. */
#include "mnist/dataset.h"

int mn_npz_claims(const char *source);
int mn_npz_load(const char *source, mn_split split, const mn_data_opts *o, mn_dataset *ds, mn_err *e);
int mn_csv_claims(const char *source);
int mn_csv_load(const char *source, mn_split split, const mn_data_opts *o, mn_dataset *ds, mn_err *e);
int mn_idx_claims(const char *source);
int mn_idx_load(const char *source, mn_split split, const mn_data_opts *o, mn_dataset *ds, mn_err *e);

const mn_data_format mn_data_formats[] = {
    {"npz", mn_npz_claims, mn_npz_load},
    {"csv", mn_csv_claims, mn_csv_load},
    {"idx", mn_idx_claims, mn_idx_load},
    {0, 0, 0},
};
