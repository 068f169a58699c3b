/* term.c - tiles of pixels in a terminal (see term.h). */
#define _POSIX_C_SOURCE 200809L
#include "mnist/term.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

mn_term_mode mn_term_mode_for(FILE *f, int force_color, int force_plain)
{
    if (force_plain) return MN_TERM_PLAIN;
    const char *nc = getenv("NO_COLOR");
    if (!force_color && ((nc && *nc) || !isatty(fileno(f)))) return MN_TERM_PLAIN;
    const char *ct = getenv("COLORTERM");
    if (ct && (strstr(ct, "truecolor") || strstr(ct, "24bit"))) return MN_TERM_24BIT;
    return MN_TERM_256;
}

int mn_term_columns(FILE *f)
{
#ifdef TIOCGWINSZ
    struct winsize ws;
    if (isatty(fileno(f)) && ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
#endif
    const char *c = getenv("COLUMNS");
    long v = c ? strtol(c, NULL, 10) : 0;
    return v > 0 && v < 10000 ? (int)v : 80;
}

int mn_term_grey256(int v)
{
    if (v < 4) return 16;
    if (v > 246) return 231;
    int k = (v - 8 + 5) / 10;
    return 232 + (k < 0 ? 0 : k > 23 ? 23 : k);
}

int mn_term_rgb256(uint32_t rgb)
{
    int r = (int)(rgb >> 16 & 255), g = (int)(rgb >> 8 & 255), b = (int)(rgb & 255);
    if (r == g && g == b) return mn_term_grey256(r);
    return 16 + 36 * ((r * 5 + 127) / 255) + 6 * ((g * 5 + 127) / 255) + (b * 5 + 127) / 255;
}

static uint32_t pixel(const mn_term_tile *t, int x, int y)
{
    if (y >= t->h) return 0;
    const uint8_t *p = t->rgb + ((size_t)y * (size_t)t->w + (size_t)x) * 3;
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static char plain_char(uint32_t rgb)
{
    static const char grey[] = " .:-=+*#%@", pos[] = " +*#", neg[] = " -=%";
    int r = (int)(rgb >> 16 & 255), g = (int)(rgb >> 8 & 255), b = (int)(rgb & 255);
    if (r == g && g == b) return grey[r * 10 / 256];
    int v = r > g ? (r > b ? r : b) : (g > b ? g : b);
    if (g > r && g >= b) return pos[v * 4 / 256];
    if (r > g && r >= b) return neg[v * 4 / 256];
    return grey[v * 10 / 256];
}

static void colour24(FILE *f, uint32_t up, uint32_t lo)
{
    fprintf(f, "\033[38;2;%u;%u;%u;48;2;%u;%u;%um", up >> 16 & 255, up >> 8 & 255, up & 255, lo >> 16 & 255,
            lo >> 8 & 255, lo & 255);
}

void mn_term_tiles(FILE *f, const mn_term_tile *t, int n, int columns, int gap, mn_term_mode mode)
{
    int plain = mode == MN_TERM_PLAIN;
    for (int first = 0; first < n;) {
        /* as many tiles as fit (at least one) */
        int k = 0, used = 0;
        while (first + k < n) {
            int w = plain ? 2 * t[first + k].w : t[first + k].w;
            if (k && used + gap + w > columns) break;
            used += (k ? gap : 0) + w;
            k++;
        }
        if (first) fputc('\n', f);
        int any_caption = 0, h = 0;
        for (int i = 0; i < k; i++) {
            any_caption |= t[first + i].caption != NULL;
            if (t[first + i].h > h) h = t[first + i].h;
        }
        if (any_caption) {
            /* captions padded to their tiles' widths, the last one not */
            for (int i = 0; i < k; i++) {
                const mn_term_tile *ti = &t[first + i];
                int w = plain ? 2 * ti->w : ti->w;
                const char *cap = ti->caption ? ti->caption : "";
                int len = (int)strlen(cap) > w ? w : (int)strlen(cap);
                fprintf(f, "%.*s", len, cap);
                if (i + 1 < k) fprintf(f, "%*s", w - len + gap, "");
            }
            fputc('\n', f);
        }
        int lines = plain ? h : (h + 1) / 2;
        for (int r = 0; r < lines; r++) {
            for (int i = 0; i < k; i++) {
                const mn_term_tile *ti = &t[first + i];
                if (i) fprintf(f, "%*s", gap, "");
                if (plain) {
                    for (int x = 0; x < ti->w; x++) {
                        char ch = plain_char(pixel(ti, x, r));
                        fputc(ch, f), fputc(ch, f);
                    }
                    continue;
                }
                uint32_t fg = 0xFFFFFFFFu, bg = 0xFFFFFFFFu;
                for (int x = 0; x < ti->w; x++) {
                    uint32_t up = pixel(ti, x, 2 * r), lo = 2 * r + 1 < h ? pixel(ti, x, 2 * r + 1) : 0;
                    if (mode == MN_TERM_256) up = (uint32_t)mn_term_rgb256(up), lo = (uint32_t)mn_term_rgb256(lo);
                    if (up != fg || lo != bg) {
                        if (mode == MN_TERM_256)
                            fprintf(f, "\033[38;5;%u;48;5;%um", up, lo);
                        else
                            colour24(f, up, lo);
                        fg = up, bg = lo;
                    }
                    fputs("\xe2\x96\x80", f); /* U+2580 UPPER HALF BLOCK */
                }
                fputs("\033[0m", f);
            }
            fputc('\n', f);
        }
        first += k;
    }
}
