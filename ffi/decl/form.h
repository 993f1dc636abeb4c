/* The deprecated form API behind pycurl's HTTPPOST (curl_formadd(3)).
 * curl_formadd is variadic: it is reached only through pcb_formadd (form.c). */

typedef int... CURLFORMcode;
struct curl_httppost { ...; };

void curl_formfree(struct curl_httppost *form);

/* curl_formadd(3) for one field: CURLFORM_COPYNAME name (namelen bytes, NUL
 * bytes allowed), then, through CURLFORM_ARRAY, the `count` options
 * options[i] with values[i].  CURLFORM_COPYCONTENTS and CURLFORM_BUFFERPTR
 * are followed by their length, lengths[i] (CURLFORM_CONTENTSLENGTH,
 * CURLFORM_BUFFERLENGTH), so that their values may hold NUL bytes; lengths[i]
 * is ignored for the other options, whose values are NUL-terminated.
 * Appends to the list *first .. *last; free it with curl_formfree(). */
CURLFORMcode pcb_formadd(struct curl_httppost **first, struct curl_httppost **last,
                         const char *name, long namelen, const int *options,
                         const char *const *values, const long *lengths, int count);
