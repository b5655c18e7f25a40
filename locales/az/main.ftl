# witness-drop: mənbələr (məlumat göndərənlər) üçün interfeysin mətnləri, azərbaycan dili.
# Buradakı hər id en/ və ru/ fayllarında da olmalıdır (bunu test yoxlayır) və hər id istifadə olunmalıdır.

## Bütün səhifələr
lang-switch-label = Dil
skip-to-content = Əsas məzmuna keçin
onion-warning-title = Siz onion ünvanından istifadə etmirsiniz
onion-warning-text = Özünüzü qorumaq üçün bu səhifəni bağlayın və saytı Tor Browser-də bu ünvanla açın:
footer-text = Bu sayt JavaScript-dən istifadə etmir, siz daxil olana qədər kuki (cookie) faylları saxlamır və başqa saytlardan heç nə yükləmir.
back-to-start = Ana səhifəyə qayıdın

## Ana səhifə
landing-title = { $org }: baş verənlər barədə təhlükəsiz danışın
landing-intro = Əgər sizi saxlayıblarsa, sizə işgəncə veriblərsə və ya sizinlə pis rəftar ediblərsə — polis şöbəsində, həbsxanada və ya sizi saxladıqları başqa bir yerdə — yaxud bunun başqalarına edildiyini görmüsünüzsə, burada bu barədə { $org } təşkilatına danışa bilərsiniz. Adınızı yazmağınız lazım deyil.
landing-who-reads = Göndərdiyiniz hər şey bizə çatdığı anda şifrələnir. Onu yalnız { $org } təşkilatının kiçik bir komandası oxuya bilər və bunu internetə heç vaxt qoşulmayan kompüterdə edir. Bu serveri idarə edən insanlar onu oxuya bilməzlər.
landing-submit-button = Yazın və ya fayl göndərin
landing-login-intro = Əvvəllər nəsə göndərib gizli sözlər almısınız?
landing-login-button = Gizli sözlərinizlə daxil olun
safety-heading = Təhlükəsizliyiniz üçün
safety-tor = Tor Browser-dən istifadə edin və təhlükəsizlik səviyyəsini «Safest» (ən təhlükəsiz) edin: qalxan işarəsinə, sonra «Settings…» düyməsinə basın və «Security Level» bölməsində «Safest» variantını seçin. Tor Browser bağlanıb yenidən açılarsa, bu saytı yenə açın. Bu sayt JavaScript olmadan tam işləyir.
safety-device = İş yerinizin kompüterindən və ya telefonundan, başqasının cihazından və ya başqalarının yoxladığı cihazdan istifadə etməyin. İş yerinin, məktəbin və ya universitetin internetinə qoşulmayın. Mümkünsə, heç kimin sizinlə əlaqələndirə bilməyəcəyi cihaz və internet bağlantısından istifadə edin.
safety-metadata = Şəkillərdə və sənədlərdə gözə görünməyən məlumat ola bilər: şəklin çəkildiyi yer və vaxt, telefonun modeli, müəllifin adı. Mümkünsə, göndərməzdən əvvəl bu məlumatı silin. Məsələn, şəklin ekran görüntüsünü (skrinşot) çəkin və ya sənədi çap funksiyası ilə yeni PDF faylı kimi saxlayın.
safety-metadata-cant = Bu məlumatı silə bilmirsinizsə, faylı yenə də göndərə bilərsiniz: komandamız belə məlumat barədə bilir və nəyisə kiminləsə bölüşməzdən əvvəl faylı yoxlayacaq.
safety-after = İşinizi bitirəndə Tor Browser-i bağlayın. Göndərdiyiniz faylları başqalarının görə biləcəyi yerlərdə saxlamayın.
what-happens-heading = Göndərdiklərinizə nə olur
what-happens-text = Mesajınız və fayllarınız gəldiyi anda şifrələnir və yalnız şifrəli halda saxlanılır. Komandamız onları internetə qoşulmayan kompüterə köçürür və orada oxuyur. Gizli sözlərinizi saxlasanız, bu sayt vasitəsilə sizə cavab yaza bilərik.
retention-text = Komandamız materialları köçürdükdən sonra onlar əvvəlcədən müəyyən edilmiş qrafik üzrə bu serverdən silinir.
promise-heading = Nəyə söz verə bilərik, nəyə yox
promise-can = Biz IP ünvanınızı və brauzerinizi qeydə almırıq. Şifrəli nüsxədən kənarda server yalnız göndərdiyiniz günü saxlayır, vaxtı yox. Komandamızdan başqa heç kim göndərdiklərinizi oxuya bilməz.
promise-cannot = Kimsə ekranınıza baxırsa və ya cihazınıza nəzarət edirsə, sizi qoruya bilmərik. Fayllarınızdakı gözə görünməyən məlumatı da yox edə bilmərik. Yalnız sizin bildiyiniz təfərrüatlar mətni kimin yazdığını göstərə bilər — nəyi yazacağınıza özünüz qərar verin.

## Göndərmə forması
submit-title = Baş verənlər barədə yazın
submit-intro = İstənilən dildə yaza bilərsiniz. Mesaj, fayl və ya hər ikisini göndərə bilərsiniz.
submit-message-label = Mesajınız
submit-message-hint = Nə baş verdiyini, nə vaxt və harada olduğunu, kimlərin iştirak etdiyini yazın — özünüzü təhlükəsiz hiss etdiyiniz qədər. Mətn ən çox { $kib } KB ola bilər; daha uzun mətni fayl kimi göndərin.
submit-files-label = Fayllar (istəyə bağlı)
submit-files-hint = Bir neçə fayl seçə bilərsiniz. Bütün faylların ümumi həcmi ən çox { $limit } ola bilər.
submit-check-hint = Göndərməzdən əvvəl brauzerin «Browse…» düyməsinin yanında nə göstərdiyini yoxlayın: yalnız orada seçilmiş fayllar göndəriləcək.
submit-slow-hint = Tor vasitəsilə böyük faylların göndərilməsi uzun çəkə bilər — bəzən bir saata qədər. Təsdiq mesajını görənə qədər bu səhifəni bağlamayın.
submit-button = Təhlükəsiz göndərin
honeypot-label = Bu xananı boş qoyun

## Suallar və razılıq (göndərmə forması və mesajlar səhifəsindəki forma)
guided-summary = Kömək edə biləcək suallar (istəyə bağlı)
guided-intro = İstəsəniz, bu suallar vəkillərin və beynəlxalq qurumların adətən soruşduqlarını danışmağa kömək edə bilər. Bütün suallar istəyə bağlıdır: cavab vermək istəmədiyiniz hər şeyi keçin. Yuxarıda yazdıqlarınız təkcə özü də kifayətdir. Yalnız özünüz üçün təhlükəsiz saydığınız qədər yazın.
guided-when-label = Bu nə vaxt baş verib?
guided-when-hint = Təxmini vaxt da olar, məsələn, «2023-cü ilin yazı» və ya «aksiyadan bir həftə sonra».
guided-where-label = Bu harada baş verib?
guided-where-hint = Bacarırsınızsa, şəhəri və bunun necə bir yer olduğunu yazın. İstənilən yer olar, hətta rəsmi bir yer olmasa belə.
guided-who-label = İstəsəniz, buna kimin cavabdeh olduğunu yazın.
guided-who-hint = Yadınızda qalan hər şey kömək edə bilər: adlar, rütbələr, geyim forması, bölmələr və ya o insanların necə göründüyü, onlara necə müraciət edildiyi.
guided-acts-label = İstəsəniz, nə baş verdiyini yazın.
guided-acts-hint = Nə qədər istəyirsinizsə, o qədər. Necə, nə qədər müddət və neçə dəfə olduğunu bilmək kömək edə bilər, amma təfərrüat yazmağa məcbur deyilsiniz.
guided-injuries-label = Ondan sonra sağlamlıq
guided-injuries-hint = Məsələn, qalan izlər və ya ağrılar, yuxu problemləri, indi özünüzü necə hiss etdiyiniz; həkimə gedə bildinizmi, yoxsa sizə kömək göstərməkdən imtina edildi.
guided-witnesses-label = Bunu başqa kim görüb və ya kim bilir?
guided-witnesses-hint = Məsələn, sizinlə birlikdə saxlanılan başqa insanlar, vəkil və ya qohumlar. Adlarını yalnız onlar üçün təhlükəsiz olduğunu düşünürsünüzsə yazın.
guided-complaints-label = Siz və ya başqa biri bu barədə şikayət edibmi?
guided-complaints-hint = Məsələn, hansısa vəzifəli şəxsə, məhkəməyə, ombudsmana və ya başqa yerə: kimə, nə vaxt və bunun nəticəsi nə oldu.
guided-role-legend = Yazdıqlarınızı haradan bilirsiniz?
guided-role-self = Bu mənim başıma gəlib
guided-role-witness = Bunun başqasının başına gəldiyini görmüşəm
guided-role-relative = Bu mənim ailə üzvümün başına gəlib
guided-role-lawyer = Mən bunun başına gəldiyi insanın vəkiliyəm
guided-role-other = Başqa yolla
guided-skip = Cavab verməmək istəyirəm
guided-danger-legend = Siz və ya ailəniz indi təhlükədəsinizmi?
guided-danger-hint = Bu, komandamıza sizə cavab yazanda nə qədər ehtiyatlı olmalı olduğunu anlamağa kömək edir.
guided-danger-no = Xeyr
guided-danger-yes = Bəli
guided-danger-unsure = Əmin deyiləm
consent-summary = Göndərdiklərinizdən necə istifadə edə bilərik
consent-default-note = Heç nə seçməsəniz: yalnız öz qeydlərimiz üçün, adınız olmadan.
consent-intro = Qərarı siz verirsiniz. Seçiminizi sonra gizli sözlərinizlə daxil olub mesajlar səhifənizdə dəyişə bilərsiniz; göndərdiyiniz hər şey üçün ən son seçiminiz keçərlidir. Aşağıdakı xananı işarələməsəniz, adınızdan heç vaxt istifadə etməyəcəyik.
consent-legend = Göndərdiklərinizlə nə edə bilərik?
consent-records = Yalnız öz qeydlərimizdə saxlamaq. Komandamızdan başqa heç kim onu görməyəcək.
consent-legal = Həmçinin vəkillərə və beynəlxalq qurumlara, məsələn, Avropa İnsan Hüquqları Məhkəməsinə və ya BMT-yə vermək.
consent-publish = Yuxarıdakıların hamısı, həmçinin dərc etmək, məsələn, hesabatda.
consent-name-label = Adımı yazmışamsa, ondan istifadə edə bilərsiniz.
consent-name-hint = Bu xananı işarələməsəniz, göndərdiklərinizi başqalarına versək və ya dərc etsək belə, adınızdan heç vaxt istifadə etməyəcəyik.
consent-change-summary = Göndərdiklərinizdən necə istifadə edə biləcəyimizi dəyişin
consent-change-intro = Bu səhifə əvvəlki seçiminizi göstərə bilmir, amma o, göndərdiklərinizlə birlikdə şifrəli halda saxlanılır. Yalnız dəyişmək istəyirsinizsə, yenidən seçin: göndərdiyiniz hər şey üçün ən son seçiminiz keçərlidir. Yeni seçimi mesaj yazmadan, ayrıca da göndərə bilərsiniz.
consent-current-intro = Hazırkı seçiminiz aşağıda işarələnib. Yalnız istəsəniz dəyişin: göndərdiyiniz hər şey üçün ən son seçiminiz keçərlidir. Yeni seçimi mesaj yazmadan, ayrıca da göndərə bilərsiniz.
consent-keep = Əvvəlki seçimim qalsın
consent-name-change-hint = Yuxarıda yenidən seçsəniz, bu xananı işarələməyincə adınızdan istifadə etməyəcəyik.

## Təsdiq
receipt-title = Təşəkkür edirik. Göndərdikləriniz təhlükəsiz saxlanılıb.
receipt-files = { $count ->
    [one] { $count } fayl alındı.
   *[other] { $count } fayl alındı.
}
receipt-encrypted = Hər şey gəldiyi anda şifrələndi. Onu yalnız komandamız oxuya bilər və bunu internetə qoşulmayan kompüterdə edir.
receipt-next-heading = İndi nə etməli
receipt-next-close = Bu səhifə ilə işiniz bitəndə brauzer pəncərəsini bağlayın və ya Tor Browser menyusunda «New Identity» bəndini seçin (brauzer hər şeyi silib yenidən açılacaq). Belə olduqda bu cihazdan sizdən sonra istifadə edən heç kim bu səhifəni görməyəcək.
receipt-codename-heading = Gizli sözləriniz
receipt-codename-text = Bu gizli sözlər geri qayıtmağın, komandamızın cavablarını oxumağın və yenə nəsə göndərməyin yeganə yoludur. Onları yadda saxlayın və ya kağıza yazıb heç kimin tapa bilməyəcəyi yerdə gizlədin. Onları heç kimə deməyin: bu sözləri bilən hər kəs sizə yazılan cavabları oxuya bilər. Biz onları saxlamırıq və bir daha göstərə bilmərik.
receipt-codename-use = Geri qayıtmaq üçün bu saytı Tor Browser-də açın və «Gizli sözlərinizlə daxil olun» üzərinə basın.
receipt-consent-heading = Göndərdiklərinizdən necə istifadə edə bilərik
receipt-consent-records = Yalnız öz qeydlərimiz üçün.
receipt-consent-legal = Öz qeydlərimiz üçün, həmçinin vəkillərə və beynəlxalq qurumlara, məsələn, Avropa İnsan Hüquqları Məhkəməsinə və ya BMT-yə verilə bilər.
receipt-consent-publish = Öz qeydlərimiz üçün, vəkillər və beynəlxalq qurumlar üçün, həmçinin dərc oluna bilər, məsələn, hesabatda.
receipt-consent-kept = Göndərdiklərinizdən necə istifadə edə biləcəyimiz barədə əvvəlki seçiminiz qüvvədə qalır.
receipt-name-yes = Adınızı yazmısınızsa, ondan istifadə edə bilərik.
receipt-name-no = Adınızdan istifadə etməyəcəyik.
receipt-large-files = Böyük fayllar göndərmək istəyirsinizsə, onları bir-bir göndərmək daha yaxşıdır: gizli sözlərinizlə daxil olun və hər faylı mesajlar səhifənizdən göndərin. Hər fayl gəldiyi anda saxlanılır, ona görə də bağlantı kəsilsə, yalnız həmin faylı yenidən göndərməli olacaqsınız.

## Daxil olma və mesajlar
login-title = Gizli sözlərinizlə daxil olun
login-label = Gizli sözləriniz
login-hint = İlk göndərişinizdən sonra aldığınız ingiliscə sözlər. Böyük və kiçik hərflərin, boşluqların fərqi yoxdur.
login-button = Daxil olun
login-failed = Bu sözlərlə daxil olmaq alınmadı. Onları yoxlayıb yenidən cəhd edin.
inbox-title = Mesajlarınız
inbox-replies-heading = Komandamızın cavabları
inbox-no-replies = Hələ cavab yoxdur. Bir neçə gündən sonra yenidən baxın.
inbox-reply-day = Alınma tarixi: { $day }
inbox-delete-button = Bu cavabı silin
inbox-send-heading = Daha nəsə göndərin
inbox-large-files = Böyük faylları bu səhifədən bir-bir göndərmək daha yaxşıdır. Hər fayl gəldiyi anda saxlanılır, ona görə də bağlantı kəsilsə, yalnız həmin faylı yenidən göndərməli olacaqsınız.
inbox-consent-unknown = Bu səhifə əvvəlki seçiminizi göstərə bilmir. O, göndərdiklərinizlə birlikdə şifrəli halda saxlanılır və qüvvədə qalır.
inbox-consent-change = Onu istənilən vaxt aşağıda, «Göndərdiklərinizdən necə istifadə edə biləcəyimizi dəyişin» bölməsində dəyişə bilərsiniz. Göndərdiyiniz hər şey üçün ən son seçiminiz keçərlidir. Bu səhifə seçiminizi yalnız sizə, gizli sözlərinizlə daxil olduqdan sonra göstərir.
inbox-logout-button = Çıxış
inbox-sent-title = Təşəkkür edirik. Yeni mesajınız təhlükəsiz saxlanılıb.
inbox-sent-consent-title = Təşəkkür edirik. Yeni seçiminiz təhlükəsiz saxlanılıb.
inbox-back = Mesajlarınıza qayıdın

## Xətalar
error-400-title = Formanı oxumaq mümkün olmadı
error-400-text = Heç nə saxlanılmadı. Zəhmət olmasa, geri qayıdın və formanı yenidən göndərin.
error-empty-title = Göndəriləcək heç nə yoxdur
error-empty-text = Zəhmət olmasa, mesaj yazın, suala cavab verin və ya ən azı bir fayl seçin. Heç nə saxlanılmadı.
error-403-title = Forma göndərilmədi
error-403-text = Bu forma yalnız bu saytın özündən göndərilə bilər. Heç nə saxlanılmadı. Ana səhifəni, sonra formanı açın və onu yenidən göndərin.
error-404-title = Səhifə tapılmadı
error-404-text = Belə səhifə yoxdur.
error-408-title = Yükləmə çox uzun çəkdi
error-408-text = Bağlantı dayandı. Heç nə saxlanılmadı. Zəhmət olmasa, yenidən cəhd edin. Bəlkə bir dəfədə daha az fayl göndərin.
error-413-title = Həcm çox böyükdür
error-413-files = Bütün faylların ümumi həcmi ən çox { $limit } ola bilər. Heç nə saxlanılmadı. Daha az və ya daha kiçik fayllar göndərin, yaxud onları bir neçə göndərişə bölün.
error-413-message = Mesaj və suallara cavablarınız birlikdə ən çox { $kib } KB mətn ola bilər. Daha uzun mətni fayla yazın və onu əlavə edin. Heç nə saxlanılmadı.
large-files-tip = Böyük faylları bir-bir göndərmək daha yaxşıdır. Gizli sözləriniz varsa, daxil olun və hər faylı mesajlar səhifənizdən göndərin; yoxdursa, onları almaq üçün əvvəlcə mesajınızı fayl olmadan göndərin. Belə göndərilən hər fayl gəldiyi anda saxlanılır, ona görə də bağlantı kəsilsə, yalnız həmin faylı yenidən göndərməli olacaqsınız.
error-413-count = Bir göndərişdə ən çox { $max } fayl ola bilər. Heç nə saxlanılmadı.
error-503-title = Sayt məşğuldur, zəhmət olmasa, yenidən cəhd edin
error-503-text = Hazırda bu saytdan çox insan istifadə edir. Heç nə saxlanılmadı və heç nə itmədi: zəhmət olmasa, bir neçə dəqiqədən sonra yenidən cəhd edin.
error-full-title = Hazırda yer yoxdur
error-full-text = Heç nə saxlanılmadı və heç nə itmədi. İndi yeni material üçün yer yoxdur: zəhmət olmasa, bir neçə saatdan sonra yenidən cəhd edin.
error-500-title = Nəsə səhv getdi
error-500-text = Göndərdikləriniz saxlanılmadı. Zəhmət olmasa, bir az sonra yenidən cəhd edin.
error-401-title = Zəhmət olmasa, yenidən daxil olun
error-401-text = Sessiyanız başa çatıb. Gizli sözlərinizlə yenidən daxil olun.
tor2web-title = Tor2web proksisindən istifadə etməyin
tor2web-text = Siz bu sayta «Tor2web» proksisi vasitəsilə daxil olmusunuz. Bu proksi göndərdiyiniz hər şeyi və kim olduğunuzu görə bilər. Ona görə də bu sayt onun vasitəsilə göndərilənləri qəbul etmir. Tor Browser-i quraşdırın və onion ünvanını birbaşa açın.
