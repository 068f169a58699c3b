/* fuzz_image.c - the PNG and PGM decoders (mn_image_decode) and the MNIST
 * preprocessing of what they decode.
 *
 * Invariants besides "no crash, no leak": a failure leaves an empty image
 * and a one-line message naming the input; a decoded image has sides 1 to
 * MN_IMAGE_MAX_DIM and pixels ASan lets us read; mn_image_decode agrees
 * with the format's own decoder; preprocessing reports a bounding box inside
 * the image and a scaled digit of at most 20x20, and a blank result is all
 * black. Built only when include/mnist/image.h exists. */
#include "fuzz.h"

#include "mnist/image.h"

#define PREP_MAX_PIXELS ((size_t)1 << 22) /* preprocess images up to 4 Mpixels */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mn_image im, again;
    mn_err e = {{0}};
    int rc = mn_image_decode(data, size, "in.img", &im, &e);
    int is_png = size >= 4 && data[0] == 0x89 && data[1] == 'P' && data[2] == 'N' && data[3] == 'G';
    int is_pgm = !is_png && size >= 2 && data[0] == 'P' && data[1] >= '1' && data[1] <= '7';
    if (rc) {
        FZ_CHECK(rc == -1, "returned %d", rc);
        FZ_CHECK(im.w == 0 && im.h == 0 && im.px == NULL, "failure left an image");
        fz_check_msg(e.msg, "in.img");
        return 0;
    }
    FZ_CHECK(is_png || is_pgm, "decoded %zu bytes with neither signature", size);
    FZ_CHECK(im.w >= 1 && im.h >= 1 && im.w <= MN_IMAGE_MAX_DIM && im.h <= MN_IMAGE_MAX_DIM && im.px,
             "decoded a %dx%d image", im.w, im.h);
    size_t n = (size_t)im.w * (size_t)im.h;
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++) sum += im.px[i];

    /* the dispatcher and the format's decoder agree */
    int rc2 = is_png ? mn_png_decode(data, size, "in.img", &again, &e) : mn_pgm_decode(data, size, "in.img", &again, &e);
    FZ_CHECK(rc2 == 0 && again.w == im.w && again.h == im.h && memcmp(again.px, im.px, n) == 0,
             "the format decoder disagrees with mn_image_decode");
    mn_image_free(&again);

    if (n <= PREP_MAX_PIXELS) {
        uint8_t out[MN_MNIST_PIXELS];
        mn_prep_info info;
        if (mn_image_mnist(&im, out, &info, &e) == 0) {
            FZ_CHECK(info.box_w >= 0 && info.box_w <= MN_MNIST_BOX && info.box_h >= 0 && info.box_h <= MN_MNIST_BOX,
                     "scaled digit is %dx%d", info.box_w, info.box_h);
            FZ_CHECK(info.background >= 0 && info.background <= 255, "background %d", info.background);
            if (info.blank) {
                for (int i = 0; i < MN_MNIST_PIXELS; i++) FZ_CHECK(out[i] == 0, "blank result has ink at %d", i);
            } else {
                FZ_CHECK(0 <= info.x0 && info.x0 <= info.x1 && info.x1 < im.w && 0 <= info.y0 && info.y0 <= info.y1 &&
                             info.y1 < im.h,
                         "bounding box (%d,%d)-(%d,%d) outside %dx%d", info.x0, info.y0, info.x1, info.y1, im.w, im.h);
            }
        } else {
            fz_check_msg(e.msg, NULL);
        }
        if (mn_image_resize28(&im, out, &e)) fz_check_msg(e.msg, NULL);
        float f[MN_MNIST_PIXELS];
        mn_image_to_float(out, MN_MNIST_PIXELS, f);
        for (int i = 0; i < MN_MNIST_PIXELS; i++) FZ_CHECK(f[i] >= 0 && f[i] <= 1, "pixel %d is %g", i, f[i]);
    }
    mn_image_free(&im);
    FZ_CHECK(im.px == NULL, "mn_image_free left pixels");
    (void)sum;
    return 0;
}
