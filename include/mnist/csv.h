/* csv.h - image sets as CSV text: one row per image, a label column and
 * H*W pixel columns (integers 0..255), as Kaggle's digit recognizer and
 * the mnist_train.csv files around the web.
 *
 * The label column is the one whose header is `label`; without a header
 * row (a first row of numbers only) it is the first column. Square images
 * are inferred from the number of pixel columns. The file is parsed as a
 * byte stream (never line by line into strings); errors are one line naming
 * the file, the line and the column:
 *   "train.csv: line 7, column 302: pixel 256 is out of range 0..255"
 */
#ifndef MNIST_CSV_H
#define MNIST_CSV_H

#include "mnist/dataset.h"

/* Most columns a CSV data set may have (a 1024x1024 image and a label). */
#define MN_CSV_MAX_COLS (1024 * 1024 + 1)

/* Reads path into ds (u8, one channel). A file without a label column is
 * an error unless unlabelled_ok, when *has_labels is set to 0 and every
 * label to 0; has_labels may be NULL. */
int mn_csv_read(const char *path, int unlabelled_ok, mn_dataset *ds, int *has_labels, mn_err *e);

/* Writes ds (u8, one channel) as CSV, atomically: with a header row
 * "label,pixel0,...", Kaggle's style, or none (label first). */
int mn_csv_write(const char *path, const mn_dataset *ds, int header, mn_err *e);

#endif
