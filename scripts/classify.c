/* classify.c - the library used from a program of your own: classifies
 * pictures of digits (PNG or PGM) with a trained model file, printing the
 * most likely class and its probability, e.g.
 *
 *   digit.png: 7 (98.1%)
 *
 * as `mnist predict --top 1` does. Each picture is read with image.h's
 * reader and prepared the way MNIST was (mn_image_mnist: inverted if light,
 * cropped, fit to 20x20, centred by centre of mass), and all of them go to
 * one mn_predict call (infer.h), which the model opened for inference only
 * (mn_model_open) runs in batches. It uses only the installed header:
 *
 *   cmake --install build --prefix ~/.local
 *   cc -O2 scripts/classify.c $(PKG_CONFIG_PATH=~/.local/lib/pkgconfig pkg-config --cflags --libs mnist) -o classify
 *   ./classify model.bin digit.png ...
 *
 * or with CMake: find_package(mnist REQUIRED) and
 * target_link_libraries(classify PRIVATE mnist::mnist) (tests/install.sh
 * does both). With --raw (before MODEL) each picture is only resized to
 * 28x28, as by `mnist predict --raw`. Exit codes: 0; 1 when the model or an
 * image cannot be used (one line each, naming it; the other images are
 * still classified); 2 on bad arguments. */
#include <mnist/mnist.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BATCH 64

int main(int argc, char **argv)
{
    static const char usage[] = "Usage: classify [--raw] MODEL IMAGE...  (PNG or PGM pictures of digits)\n";
    int raw = 0, first = 1;
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "--raw")) raw = 1, first = 2;
    if (argc - first < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *model_path = argv[first];
    char **files = argv + first + 1;
    int n_files = argc - first - 1, rc = 0;

    mn_err e;
    mn_model m;
    if (mn_model_open(&m, model_path, n_files < MAX_BATCH ? n_files : MAX_BATCH, &e)) {
        fprintf(stderr, "classify: %s\n", e.msg);
        return 1;
    }
    if (m.input_shape.c != 1 || m.input_shape.h != MN_MNIST_SIDE || m.input_shape.w != MN_MNIST_SIDE) {
        fprintf(stderr, "classify: %s: the model takes %dx%dx%d images, not 1x%dx%d\n", model_path,
                m.input_shape.c, m.input_shape.h, m.input_shape.w, MN_MNIST_SIDE, MN_MNIST_SIDE);
        mn_model_free(&m);
        return 1;
    }
    int C = m.n_classes;
    uint8_t *pixels = malloc((size_t)n_files * MN_MNIST_PIXELS);
    float *probs = malloc((size_t)n_files * (size_t)C * sizeof(float));
    const char **names = malloc((size_t)n_files * sizeof *names);
    if (!pixels || !probs || !names) {
        fprintf(stderr, "classify: out of memory\n");
        rc = 1;
        goto out;
    }

    /* Read and prepare every picture; a bad one is reported and left out. */
    int n = 0;
    for (int k = 0; k < n_files; k++) {
        const char *path = files[k];
        mn_image im;
        if (mn_image_read(path, &im, &e)) {
            fprintf(stderr, "classify: %s\n", e.msg); /* the message names the file */
            rc = 1;
            continue;
        }
        uint8_t *x = pixels + (size_t)n * MN_MNIST_PIXELS;
        int bad = raw ? mn_image_resize28(&im, x, &e) : mn_image_mnist(&im, x, NULL, &e);
        mn_image_free(&im);
        if (bad) {
            fprintf(stderr, "classify: %s: %s\n", path, e.msg);
            rc = 1;
            continue;
        }
        names[n++] = path;
    }

    /* One call for all of them: bytes 0-255, n x 1 x 28 x 28. */
    if (n && mn_predict(&m, pixels, MN_PIXELS_U8, n, probs, &e)) {
        fprintf(stderr, "classify: %s\n", e.msg);
        rc = 1;
        goto out;
    }
    for (int i = 0; i < n; i++) {
        const float *p = probs + (size_t)i * C;
        int best = 0;
        for (int c = 1; c < C; c++)
            if (p[c] > p[best]) best = c;
        printf("%s: %d (%.1f%%)\n", names[i], best, 100.0 * p[best]);
    }
out:
    free(pixels);
    free(probs);
    free(names);
    mn_model_free(&m);
    return rc;
}
