# witness-drop: mənbələr (məlumat göndərənlər) üçün interfeysin mətnləri, azərbaycan dili.
# Buradakı hər id en/ və ru/ fayllarında da olmalıdır (bunu test yoxlayır) və hər id istifadə olunmalıdır.

## Bütün səhifələr
lang-switch-label = Dil
skip-to-content = Əsas məzmuna keçin
onion-warning-title = Siz onion ünvanından istifadə etmirsiniz
onion-warning-text = Özünüzü qorumaq üçün bu səhifəni bağlayın və bu saytı Tor Browser-də aşağıdakı ünvanda açın:
footer-text = Bu sayt JavaScript-dən istifadə etmir, siz daxil olana qədər kuki (cookie) faylları saxlamır və başqa saytlardan heç nə yükləmir.
back-to-start = Ana səhifəyə qayıdın

## Ana səhifə
landing-title = { $org }: ifadənizi təhlükəsiz göndərin
landing-intro = Əgər sizi saxlayıblarsa, həbsdə sizə işgəncə veriblərsə və ya sizinlə pis rəftar ediblərsə, bu barədə burada { $org } təşkilatına danışa bilərsiniz. Başqalarına belə şeylərin edildiyini görmüsünüzsə, bunu da danışa bilərsiniz. Adınızı yazmağınız lazım deyil.
landing-who-reads = Göndərdiyiniz hər şey bizə çatdığı anda şifrələnir. Onu yalnız { $org } təşkilatının kiçik bir qrup əməkdaşı oxuya bilər, həm də internetə heç vaxt qoşulmayan kompüterdə. Bu serveri idarə edən insanlar onu oxuya bilməzlər.
landing-submit-button = İfadə və ya fayl göndərin
landing-login-intro = Daha əvvəl nəsə göndərib kod adı almısınız?
landing-login-button = Kod adınızla daxil olun
safety-heading = Təhlükəsizliyiniz üçün
safety-tor = Tor Browser-dən istifadə edin və təhlükəsizlik səviyyəsində «Ən təhlükəsiz» ("Safest") seçin: bunun üçün qalxan işarəsinə, sonra «Tənzimləmələr» ("Settings") düyməsinə basın. Bu sayt JavaScript olmadan tam işləyir.
safety-device = İş yerinizin kompüterindən və ya telefonundan, başqasının cihazından və ya başqalarının yoxladığı cihazdan istifadə etməyin. İş yerinin, məktəbin və ya universitetin internetinə qoşulmayın. Mümkünsə, heç kimin sizinlə əlaqələndirmədiyi cihazdan və internetdən istifadə edin.
safety-metadata = Şəkillərdə və sənədlərdə gizli məlumat ola bilər: şəklin çəkildiyi yer və vaxt, telefonun modeli, müəllifin adı. Mümkünsə, göndərməzdən əvvəl bu məlumatı silin. Məsələn, şəklin ekran görüntüsünü (skrinşot) çəkin və ya sənədi çap funksiyası ilə yeni PDF faylı kimi saxlayın.
safety-metadata-cant = Əgər bu məlumatı silə bilmirsinizsə, faylı yenə də göndərin. Əməkdaşlarımız gizli məlumat barədə bilirlər və nəyisə başqaları ilə bölüşməzdən əvvəl faylı yoxlayacaqlar.
safety-after = İşinizi bitirəndə Tor Browser-i bağlayın. Göndərdiyiniz faylları başqalarının görə biləcəyi yerlərdə saxlamayın.
what-happens-heading = Göndərdiklərinizlə nə olur
what-happens-text = Mesajınız və fayllarınız gəldiyi anda şifrələnir və yalnız şifrəli halda saxlanılır. Əməkdaşlarımız onları internetə qoşulmayan kompüterə köçürür və orada oxuyurlar. Kod adınızı saxlasanız, bu sayt vasitəsilə sizə cavab yaza bilərlər.
retention-text = Əməkdaşlarımız materialları köçürdükdən sonra materiallar bu serverdən silinir. Bu, əvvəlcədən müəyyən edilmiş qrafik üzrə olur.
promise-heading = Nəyə söz verə bilərik, nəyə yox
promise-can = Biz IP ünvanınızı, brauzerinizi və göndərdiyiniz dəqiq vaxtı qeydə almırıq. Materialları oxuyan əməkdaşlarımızdan başqa heç kim göndərdiklərinizi oxuya bilməz.
promise-cannot = Kimsə ekranınıza baxırsa və ya cihazınıza nəzarət edirsə, sizi qoruya bilmərik. Fayllarınızdakı gizli məlumatı da yox edə bilmərik. Yalnız sizin bilə biləcəyiniz bir şeyi göndərməzdən əvvəl yaxşı düşünün.

## Göndərmə forması
submit-title = İfadənizi göndərin
submit-intro = İstənilən dildə yaza bilərsiniz. Mesaj, fayl və ya hər ikisini göndərə bilərsiniz.
submit-message-label = Mesajınız
submit-message-hint = Nə baş verdiyini, nə vaxt və harada olduğunu, kimlərin iştirak etdiyini yazın — özünüzü təhlükəsiz hiss etdiyiniz qədər. Mətn ən çox { $kib } KiB ola bilər; daha uzun mətni fayl kimi göndərin.
submit-files-label = Fayllar (məcburi deyil)
submit-files-hint = Bir neçə fayl seçə bilərsiniz. Bütün faylların ümumi həcmi ən çox { $limit } ola bilər.
submit-check-hint = Göndərməzdən əvvəl brauzerin düymənin yanında göstərdiyi fayl siyahısını yoxlayın: yalnız o fayllar göndəriləcək.
submit-slow-hint = Tor vasitəsilə böyük faylların göndərilməsi uzun çəkə bilər, hətta bir saat. Təsdiq mesajını görənə qədər bu səhifəni bağlamayın.
submit-button = Təhlükəsiz göndərin
honeypot-label = Bu xananı boş qoyun

## Təsdiq
receipt-title = Təşəkkür edirik. Göndərdikləriniz təhlükəsiz saxlanılıb.
receipt-files = { $count ->
    [one] Mesajınız və { $count } fayl alındı.
   *[other] Mesajınız və { $count } fayl alındı.
}
receipt-encrypted = Hər şey gəldiyi anda şifrələndi. Onu yalnız əməkdaşlarımız oxuya bilər, həm də internetə qoşulmayan kompüterdə.
receipt-next-heading = İndi nə etməli
receipt-next-close = Bu brauzer pəncərəsini bağlayın və ya Tor Browser menyusunda «Yeni şəxsiyyət» ("New Identity") bəndini seçin. Belə olduqda bu cihazdan sizdən sonra istifadə edən heç kim bu səhifəni görməyəcək.
receipt-codename-heading = Kod adınız
receipt-codename-text = Bu kod adı geri qayıtmağın, əməkdaşlarımızın cavablarını oxumağın və yenə nəsə göndərməyin yeganə yoludur. Onu bir yerə yazın və ya yadda saxlayın, heç kimə deməyin: onu bilən hər kəs sizə yazılan cavabları oxuya bilər. Biz onu saxlamırıq və bir daha göstərə bilmərik.
receipt-codename-use = Geri qayıtmaq üçün bu saytı Tor Browser-də açın və «Kod adınızla daxil olun» düyməsinə basın.

## Daxil olma və mesajlar
login-title = Kod adınızla daxil olun
login-label = Kod adınız
login-hint = İlk göndərişinizdən sonra aldığınız sözlər. Böyük və kiçik hərflərin, boşluqların fərqi yoxdur.
login-button = Daxil olun
login-failed = Bu kod adı işləmədi. Onu yoxlayın və yenidən cəhd edin.
inbox-title = Mesajlarınız
inbox-replies-heading = Əməkdaşlarımızın cavabları
inbox-no-replies = Hələ cavab yoxdur. Bir neçə gündən sonra yenidən baxın.
inbox-reply-day = Alınma tarixi: { $day }
inbox-delete-button = Bu cavabı silin
inbox-send-heading = Daha nəsə göndərin
inbox-logout-button = Çıxış edin
inbox-sent-title = Təşəkkür edirik. Yeni mesajınız təhlükəsiz saxlanılıb.
inbox-back = Mesajlarınıza qayıdın

## Xətalar
error-400-title = Formanı oxumaq mümkün olmadı
error-400-text = Heç nə saxlanılmadı. Zəhmət olmasa, geri qayıdın və formanı yenidən göndərin.
error-empty-title = Göndəriləcək heç nə yoxdur
error-empty-text = Zəhmət olmasa, mesaj yazın və ya ən azı bir fayl seçin. Heç nə saxlanılmadı.
error-403-title = Sorğu rədd edildi
error-403-text = Bu forma yalnız bu saytın özündən göndərilə bilər. Heç nə saxlanılmadı. Ana səhifəni, sonra formanı açın və onu yenidən göndərin.
error-404-title = Səhifə tapılmadı
error-404-text = Belə səhifə yoxdur.
error-408-title = Yükləmə çox uzun çəkdi
error-408-text = Bağlantı dayandı. Heç nə saxlanılmadı. Zəhmət olmasa, yenidən cəhd edin. Bəlkə bir dəfədə daha az fayl göndərin.
error-413-title = Həcm çox böyükdür
error-413-files = Bütün faylların ümumi həcmi ən çox { $limit } ola bilər. Heç nə saxlanılmadı. Daha az və ya daha kiçik fayllar göndərin, yaxud onları bir neçə göndərişə bölün.
error-413-message = Mesaj ən çox { $kib } KiB ola bilər. Daha uzun mətni fayla yazın və onu əlavə edin. Heç nə saxlanılmadı.
error-413-count = Bir göndərişdə ən çox { $max } fayl ola bilər. Heç nə saxlanılmadı.
error-503-title = Sayt məşğuldur, yenidən cəhd edin
error-503-text = Hazırda bu saytdan çox insan istifadə edir. Heç nə saxlanılmadı və heç nə itmədi: zəhmət olmasa, bir neçə dəqiqədən sonra yenidən cəhd edin.
error-full-title = Hazırda yer yoxdur
error-full-text = Heç nə saxlanılmadı və heç nə itmədi. İndi yeni material üçün yer yoxdur: zəhmət olmasa, bir neçə saatdan sonra yenidən cəhd edin.
error-500-title = Nəsə səhv getdi
error-500-text = Göndərdikləriniz saxlanılmadı. Zəhmət olmasa, bir az sonra yenidən cəhd edin.
error-401-title = Zəhmət olmasa, yenidən daxil olun
error-401-text = Sessiyanız başa çatıb. Kod adınızla yenidən daxil olun.
tor2web-title = Tor2web proksisindən istifadə etməyin
tor2web-text = Siz bu sayta «Tor2web» proksisi vasitəsilə daxil olmusunuz. Bu proksi göndərdiyiniz hər şeyi və kim olduğunuzu görə bilər. Ona görə də bu sayt onun vasitəsilə göndərilənləri qəbul etmir. Tor Browser-i quraşdırın və onion ünvanını birbaşa açın.
