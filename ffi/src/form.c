/* curl_formadd(3), typed (declaration and contract: form.h). */
#include <curl/curl.h>
#include <stdlib.h>

static CURLFORMcode pcb_formadd(struct curl_httppost **first, struct curl_httppost **last,
                                const char *name, long namelen, const int *options,
                                const char *const *values, const long *lengths, int count)
{
    struct curl_forms *forms;
    CURLFORMcode rc;
    int i, k = 0;

    if(count < 0)
        return CURL_FORMADD_ILLEGAL_ARRAY;
    /* each option may be followed by its length, then CURLFORM_END */
    forms = malloc(sizeof(*forms) * (2 * (size_t)count + 1));
    if(!forms)
        return CURL_FORMADD_MEMORY;
    for(i = 0; i < count; i++) {
        forms[k].option = (CURLformoption)options[i];
        forms[k++].value = values[i];
        if(options[i] == CURLFORM_COPYCONTENTS || options[i] == CURLFORM_BUFFERPTR) {
            forms[k].option = options[i] == CURLFORM_COPYCONTENTS ?
                              CURLFORM_CONTENTSLENGTH : CURLFORM_BUFFERLENGTH;
            /* in an array, libcurl reads the length from the value pointer */
            forms[k++].value = (const char *)(size_t)lengths[i];
        }
    }
    forms[k].option = CURLFORM_END;
    forms[k].value = NULL;
    rc = curl_formadd(first, last,
                      CURLFORM_COPYNAME, name,
                      CURLFORM_NAMELENGTH, namelen,
                      CURLFORM_ARRAY, forms,
                      CURLFORM_END);
    free(forms);
    return rc;
}
